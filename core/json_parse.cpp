#include "core/json_parse.hpp"

#include "core/json_escape.hpp"
#include "core/json_scan.hpp"
#include "core/python_json.hpp"
#include "core/utf8.hpp"

#include <herald/error.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
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

  /// For FastParser's events: its strings are valid UTF-8 without encoded surrogates already
  /// (raw bytes from known-valid text, escapes decoded only when they form whole code points).
  void skip_string_checks() noexcept { check_strings_ = false; }

  bool too_deep() const noexcept { return too_deep_; }
  bool invalid_utf8() const noexcept { return invalid_utf8_; }

 private:
  bool enter() noexcept {
    if (++depth_ <= kMaxJsonDepth) return true;
    too_deep_ = true;
    return false;
  }

  bool valid(const Ch* text, rapidjson::SizeType length) noexcept {
    if (!check_strings_) return true;
    if (validate_utf8_ ? is_valid_utf8({text, length}) : !has_encoded_surrogate(text, length)) return true;
    invalid_utf8_ = true;
    return false;
  }

  // Text already validated can still hold a surrogate: RapidJSON 1.1.0 rejects a bad high
  // surrogate escape but turns a lone low one (escapes DC00 to DFFF) into the bytes ED B0..BF xx,
  // which are not UTF-8. Such a string is rejected like any other invalid UTF-8.
  static bool has_encoded_surrogate(const Ch* text, std::size_t length) noexcept {
    const Ch* end = text + length;
    for (const Ch* p = text; (p = static_cast<const Ch*>(std::memchr(p, 0xED, static_cast<std::size_t>(end - p))));) {
      if (p + 1 < end && static_cast<unsigned char>(p[1]) >= 0xA0) return true;
      ++p;
    }
    return false;
  }

  rapidjson::Document& document_;
  bool validate_utf8_;
  bool check_strings_ = true;
  int depth_ = 0;
  bool too_deep_ = false;
  bool invalid_utf8_ = false;
};

// A fast parser for the strict, common form of JSON (what Python's json.dumps writes), sending
// the same events to the same handler as RapidJSON's reader would. It gives up (returns false)
// on anything else: NaN/Infinity, exponents, invalid or unusual input, nesting deeper than
// kFastMaxDepth.
// Its caller then runs RapidJSON on the same text, which produces the result or the precise
// error, so it never decides that a text is invalid. It does not modify the text, which must be
// valid UTF-8 and NUL-terminated (text[size] == 0).
class FastParser {
 public:
  FastParser(DepthLimitedHandler& handler, const char* text, std::size_t size) noexcept
      : handler_(handler), text_(text), size_(size) {}

  bool parse() {
    skip_whitespace();
    if (!value(0)) return false;
    skip_whitespace();
    return pos_ == size_;
  }

 private:
  static constexpr int kFastMaxDepth = 64;
  static constexpr std::size_t kFastMaxIntegerDigits = 100;

  char peek() const noexcept { return text_[pos_]; }  // the NUL terminator past the end

  void skip_whitespace() noexcept {
    while (peek() == ' ' || peek() == '\n' || peek() == '\r' || peek() == '\t') ++pos_;
  }

  bool literal(std::string_view word) noexcept {
    if (size_ - pos_ < word.size() || std::string_view(text_ + pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool value(int depth) {
    switch (peek()) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string(false);
      case 't':
        return literal("true") && handler_.Bool(true);
      case 'f':
        return literal("false") && handler_.Bool(false);
      case 'n':
        return literal("null") && handler_.Null();
      default:
        return number();
    }
  }

  bool object(int depth) {
    if (depth > kFastMaxDepth || !handler_.StartObject()) return false;
    ++pos_;
    skip_whitespace();
    rapidjson::SizeType count = 0;
    if (peek() == '}') {
      ++pos_;
      return handler_.EndObject(0);
    }
    for (;;) {
      if (peek() != '"' || !string(true)) return false;
      skip_whitespace();
      if (peek() != ':') return false;
      ++pos_;
      skip_whitespace();
      if (!value(depth)) return false;
      ++count;
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        skip_whitespace();
      } else if (peek() == '}') {
        ++pos_;
        return handler_.EndObject(count);
      } else {
        return false;
      }
    }
  }

  bool array(int depth) {
    if (depth > kFastMaxDepth || !handler_.StartArray()) return false;
    ++pos_;
    skip_whitespace();
    rapidjson::SizeType count = 0;
    if (peek() == ']') {
      ++pos_;
      return handler_.EndArray(0);
    }
    for (;;) {
      if (!value(depth)) return false;
      ++count;
      skip_whitespace();
      if (peek() == ',') {
        ++pos_;
        skip_whitespace();
      } else if (peek() == ']') {
        ++pos_;
        return handler_.EndArray(count);
      } else {
        return false;
      }
    }
  }

  // Length of the run of bytes at `from` that need no attention inside a string (not '"', not
  // '\\', not a control character).
  std::size_t plain_run(std::size_t from) const noexcept {
    return plain_run_length<StopAt::json_syntax>(text_ + from, size_ - from);
  }

  bool string(bool key) {
    ++pos_;  // the opening quote
    std::size_t run = plain_run(pos_);
    if (text_[pos_ + run] == '"') {  // no escapes: straight from the text
      const char* start = text_ + pos_;
      pos_ += run + 1;
      const auto length = static_cast<rapidjson::SizeType>(run);
      return key ? handler_.Key(start, length, true) : handler_.String(start, length, true);
    }
    scratch_.clear();
    for (;;) {
      scratch_.append(text_ + pos_, run);
      pos_ += run;
      const char c = peek();
      if (c == '"') break;
      if (c != '\\') return false;  // a control character or the end of the text
      if (!escape()) return false;
      run = plain_run(pos_);
    }
    ++pos_;
    const auto length = static_cast<rapidjson::SizeType>(scratch_.size());
    return key ? handler_.Key(scratch_.data(), length, true) : handler_.String(scratch_.data(), length, true);
  }

  // The escape at the backslash at pos_, appended to scratch_ as RapidJSON decodes it.
  bool escape() {
    ++pos_;
    const char kind = peek();
    ++pos_;
    if (const int value = simple_escape_value(kind); value >= 0) {
      scratch_.push_back(static_cast<char>(value));
      return true;
    }
    if (kind != 'u') return false;
    // Only a code point or a well-formed pair here; RapidJSON deals with anything else.
    std::size_t end = 0;
    const long code_point = decode_u_escape(std::string_view(text_, size_), pos_, end);
    if (code_point < 0) return false;
    pos_ = end;
    char utf8[4];
    scratch_.append(utf8, put_utf8(static_cast<char32_t>(code_point), utf8));
    return true;
  }

  bool digit() const noexcept { return peek() >= '0' && peek() <= '9'; }

  // The JSON number grammar; the text goes to the handler as RapidJSON passes it with
  // kParseNumbersAsStringsFlag. Numbers RapidJSON might refuse as too big (an exponent, or an
  // integer part of hundreds of digits) are left to it.
  bool number() {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (digit()) ++pos_;
      if (pos_ - start > kFastMaxIntegerDigits) return false;
    } else {
      return false;  // not a number, or NaN/Infinity
    }
    if (peek() == '.') {
      ++pos_;
      if (!digit()) return false;
      while (digit()) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') return false;
    return handler_.RawNumber(text_ + start, static_cast<rapidjson::SizeType>(pos_ - start), true);
  }

  DepthLimitedHandler& handler_;
  const char* text_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string scratch_;
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
  {
    DepthLimitedHandler handler(document, Utf8::known_valid);
    handler.skip_string_checks();
    FastParser parser(handler, json, size);
    bool parsed = false;
    auto generator = [&](rapidjson::Document&) { return parsed = parser.parse(); };
    document.Populate(generator);  // on failure the root is left as it was and the stack cleared
    if (parsed) return;
  }
  // Unescaped in place: no per-character push onto the reader's string stack.
  rapidjson::InsituStringStream stream(json);
  parse_with<kParseFlags | rapidjson::kParseInsituFlag>(document, stream, std::string_view(json, size),
                                                        Utf8::known_valid, what);
}

}  // namespace herald::detail

namespace herald {

rapidjson::Document parse_json(std::string_view json, std::string_view what) {
  rapidjson::Document document;
  detail::parse_json_into(document, json, std::string(what).c_str());
  return document;
}

}  // namespace herald
