#include "core/json_parse.hpp"

#include "core/python_json.hpp"
#include "core/utf8.hpp"

#include <herald/error.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <string>

namespace herald::detail {
namespace {

// UTF-8 is validated by the handler below rather than with kParseValidateEncodingFlag: RapidJSON
// validates byte by byte through its transcoder, which doubled the parse time; checking each
// finished string with an ASCII fast path rejects exactly the same inputs (non-ASCII bytes are
// only legal inside strings, and \u escapes are turned into valid UTF-8 by the parser, which
// rejects lone surrogates regardless of that flag).
constexpr unsigned kParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseNanAndInfFlag;

// Forwards SAX events to a Document's handler, failing once arrays/objects nest too deeply.
// RapidJSON's iterative parser bounds stack use but not the depth of the resulting tree.
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
  bool RawNumber(const Ch* text, rapidjson::SizeType length, bool copy) {
    return document_.RawNumber(text, length, copy);
  }
  bool String(const Ch* text, rapidjson::SizeType length, bool copy) {
    return valid(text, length) && document_.String(text, length, copy);
  }
  bool Key(const Ch* text, rapidjson::SizeType length, bool copy) {
    return valid(text, length) && document_.Key(text, length, copy);
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
template <typename Stream>
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
    result = reader.Parse<kParseFlags>(stream, handler);
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
  parse_with(document, stream, json, Utf8::validate, what);
}

void parse_terminated_json_into(rapidjson::Document& document, std::string_view json, Utf8 utf8, const char* what) {
  // Cheaper per character than MemoryStream (no bounds check); the NUL terminator ends it.
  rapidjson::StringStream stream(json.data());
  parse_with(document, stream, json, utf8, what);
}

}  // namespace herald::detail
