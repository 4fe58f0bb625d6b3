#include "core/json_parse.hpp"

#include "core/python_json.hpp"
#include "core/utf8.hpp"

#include <herald/error.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

namespace herald::detail {
namespace {

// Numbers arrive as text (kParseNumbersAsStringsFlag) and are converted with std::from_chars,
// which rounds correctly as Python's float() does: RapidJSON 1.1.0's own conversion is either
// off by an ulp at times (default) or has undefined behaviour on inputs such as "0e-300"
// (kParseFullPrecisionFlag, clz of zero).
//
// UTF-8 is validated by the handler below rather than with kParseValidateEncodingFlag: RapidJSON
// validates byte by byte through its transcoder, which doubled the parse time; checking each
// finished string with an ASCII fast path rejects exactly the same inputs (non-ASCII bytes are
// only legal inside strings, and \u escapes are turned into valid UTF-8 by the parser, which
// rejects lone surrogates regardless of that flag).
constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseNanAndInfFlag | rapidjson::kParseNumbersAsStringsFlag;

// Forwards SAX events to a Document's handler, failing once arrays/objects nest too deeply.
// RapidJSON's iterative parser bounds stack use but not the depth of the resulting tree.
// A JSON number (grammar already checked by the reader) as Python's float() reads it.
double to_double(std::string_view raw) noexcept {
  double value = 0;
  const auto result = std::from_chars(raw.data(), raw.data() + raw.size(), value);
  if (result.ec != std::errc::result_out_of_range) return value;
  // Out of range: +-inf on overflow, +-0 on underflow. Decide from the decimal exponent of the
  // first significant digit.
  const bool negative = raw.front() == '-';
  std::size_t i = negative ? 1 : 0;
  long integer_digits = 0;
  long leading_fraction_zeros = 0;
  bool significant = false;
  for (; i < raw.size() && raw[i] >= '0' && raw[i] <= '9'; ++i)
    if (significant || raw[i] != '0') significant = true, ++integer_digits;
  if (i < raw.size() && raw[i] == '.') {
    for (++i; i < raw.size() && raw[i] >= '0' && raw[i] <= '9'; ++i) {
      if (significant) continue;
      if (raw[i] == '0')
        ++leading_fraction_zeros;
      else
        significant = true;
    }
  }
  long exponent = 0;
  if (i < raw.size() && (raw[i] == 'e' || raw[i] == 'E')) {
    std::size_t start = i + 1;
    if (start < raw.size() && raw[start] == '+') ++start;
    if (std::from_chars(raw.data() + start, raw.data() + raw.size(), exponent).ec != std::errc{})
      exponent = raw[start] == '-' ? -1'000'000'000L : 1'000'000'000L;  // saturate
  }
  const long magnitude = (integer_digits > 0 ? integer_digits - 1 : -(leading_fraction_zeros + 1)) + exponent;
  const double result_value = magnitude > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return negative ? -result_value : result_value;
}

class DepthLimitedHandler {
 public:
  using Ch = char;
  DepthLimitedHandler(rapidjson::Document& document, Utf8 utf8) noexcept
      : document_(document), validate_utf8_(utf8 == Utf8::validate) {}

  bool Null() { return document_.Null(); }
  bool Bool(bool value) { return document_.Bool(value); }
  bool Int(int value) { return document_.Int(value); }
  bool Uint(unsigned value) { return document_.Uint(value); }
  bool Int64(std::int64_t value) { return document_.Int64(value); }
  bool Uint64(std::uint64_t value) { return document_.Uint64(value); }
  bool Double(double value) { return document_.Double(value); }
  bool RawNumber(const Ch* text, rapidjson::SizeType length, bool) {
    const std::string_view raw(text, length);
    constexpr double kInfinity = std::numeric_limits<double>::infinity();
    if (raw == "NaN") return document_.Double(std::numeric_limits<double>::quiet_NaN());
    if (raw == "Infinity") return document_.Double(kInfinity);
    if (raw == "-Infinity") return document_.Double(-kInfinity);
    if (raw.empty() || raw.back() < '0' || raw.back() > '9') return false;  // "Inf", "-NaN": Python rejects them
    if (raw.find_first_of(".eE") == std::string_view::npos) {
      if (raw.front() == '-') {
        std::int64_t value = 0;
        if (std::from_chars(raw.data(), raw.data() + raw.size(), value).ec == std::errc{})
          return document_.Int64(value);
      } else {
        std::uint64_t value = 0;
        if (std::from_chars(raw.data(), raw.data() + raw.size(), value).ec == std::errc{})
          return document_.Uint64(value);
      }
    }
    return document_.Double(to_double(raw));  // fractions, exponents, integers beyond 64 bits
  }
  // Strings are always copied into the document, also when parsing in situ: a const-string
  // reference would be shared, not copied, by RapidJSON's CopyFrom (Notification's copy).
  bool String(const Ch* text, rapidjson::SizeType length, bool) {
    return valid(text, length) && document_.String(text, length, true);
  }
  bool Key(const Ch* text, rapidjson::SizeType length, bool) {
    return valid(text, length) && document_.Key(text, length, true);
  }
  bool StartObject() { return enter() && document_.StartObject(); }
  bool EndObject(rapidjson::SizeType count) {
    --depth_;
    return document_.EndObject(count);
  }
  bool StartArray() { return enter() && document_.StartArray(); }
  bool EndArray(rapidjson::SizeType count) {
    --depth_;
    return document_.EndArray(count);
  }

  bool too_deep() const noexcept { return too_deep_; }
  bool invalid_utf8() const noexcept { return invalid_utf8_; }

 private:
  bool enter() noexcept {
    if (++depth_ <= kMaxJsonDepth) return true;
    too_deep_ = true;
    return false;
  }

  bool valid(const Ch* text, rapidjson::SizeType length) noexcept {
    if (!validate_utf8_ || is_valid_utf8({text, length})) return true;
    invalid_utf8_ = true;
    return false;
  }

  rapidjson::Document& document_;
  bool validate_utf8_;
  int depth_ = 0;
  bool too_deep_ = false;
  bool invalid_utf8_ = false;
};

// Parses from `stream` (over `json`) into `document`; the common part of both entry points.
template <unsigned Flags, typename Stream>
void parse_with(rapidjson::Document& document, Stream& stream, std::string_view json, Utf8 utf8, const char* what) {
  // The text may live in `document`'s own pool (the v2 inner message); that is safe because the
  // pool allocator never frees a block before the document dies.
  static_assert(!rapidjson::Document::AllocatorType::kNeedFree);

  DepthLimitedHandler handler(document, utf8);
  rapidjson::ParseResult result;
  auto generator = [&](rapidjson::Document&) {
    // The reader's state stack starts in a local buffer: no heap allocation for usual depths.
    char stack_buffer[1024];
    rapidjson::MemoryPoolAllocator<> stack_allocator(stack_buffer, sizeof stack_buffer);
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>> reader(
        &stack_allocator);
    result = reader.Parse<Flags>(stream, handler);
    return !result.IsError();
  };
  document.Populate(generator);

  if (handler.too_deep())
    throw DecodeError(std::string(what) + " nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
  if (handler.invalid_utf8())
    throw DecodeError(std::string(what) + " is not valid JSON: Invalid encoding in string (invalid UTF-8 before byte " +
                      std::to_string(result.Offset()) + ")");
  if (result.IsError()) {
    if (json.empty()) throw DecodeError(std::string(what) + " is empty");
    throw DecodeError(std::string(what) + " is not valid JSON: " + rapidjson::GetParseError_En(result.Code()) +
                      " (at byte " + std::to_string(result.Offset()) + " of " + std::to_string(json.size()) + ")");
  }
  // RapidJSON treats a NUL byte as the end of input; Python's json rejects anything after the value.
  if (stream.Tell() != json.size())
    throw DecodeError(std::string(what) + " is not valid JSON: unexpected data after the value (at byte " +
                      std::to_string(stream.Tell()) + ")");
}

}  // namespace

void parse_json_into(rapidjson::Document& document, std::string_view json, const char* what) {
  // A bounded stream (the text need not be NUL-terminated); no BOM skipping, as in Python.
  rapidjson::MemoryStream stream(json.data(), json.size());
  parse_with<kParseFlags>(document, stream, json, Utf8::validate, what);
}

void parse_terminated_json_into(rapidjson::Document& document, std::string_view json, Utf8 utf8, const char* what) {
  // Cheaper per character than MemoryStream (no bounds check); the NUL terminator ends it.
  rapidjson::StringStream stream(json.data());
  parse_with<kParseFlags>(document, stream, json, utf8, what);
}

void parse_insitu_json_into(rapidjson::Document& document, char* json, std::size_t size, const char* what) {
  // Unescaped in place: no per-character push onto the reader's string stack.
  rapidjson::InsituStringStream stream(json);
  parse_with<kParseFlags | rapidjson::kParseInsituFlag>(document, stream, std::string_view(json, size),
                                                       Utf8::known_valid, what);
}

}  // namespace herald::detail
