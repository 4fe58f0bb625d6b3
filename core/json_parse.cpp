#include "core/json_parse.hpp"

#include "core/python_json.hpp"

#include <herald/error.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <string>

namespace herald::detail {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag | rapidjson::kParseNanAndInfFlag;

// Forwards SAX events to a Document's handler, failing once arrays/objects nest too deeply.
// RapidJSON's iterative parser bounds stack use but not the depth of the resulting tree.
class DepthLimitedHandler {
 public:
  using Ch = char;
  explicit DepthLimitedHandler(rapidjson::Document& document) noexcept : document_(document) {}

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
  bool String(const Ch* text, rapidjson::SizeType length, bool copy) { return document_.String(text, length, copy); }
  bool Key(const Ch* text, rapidjson::SizeType length, bool copy) { return document_.Key(text, length, copy); }
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

 private:
  bool enter() noexcept {
    if (++depth_ <= kMaxJsonDepth) return true;
    too_deep_ = true;
    return false;
  }

  rapidjson::Document& document_;
  int depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace

void parse_json_into(rapidjson::Document& document, std::string_view json, const char* what) {
  // The text may live in `document`'s own pool (the v2 inner message); that is safe because the
  // pool allocator never frees a block before the document dies.
  static_assert(!rapidjson::Document::AllocatorType::kNeedFree);

  // A bounded stream (the text need not be NUL-terminated); no BOM skipping, as in Python.
  rapidjson::MemoryStream stream(json.data(), json.size());
  DepthLimitedHandler handler(document);
  rapidjson::ParseResult result;
  auto generator = [&](rapidjson::Document&) {
    rapidjson::Reader reader;
    result = reader.Parse<kParseFlags>(stream, handler);
    return !result.IsError();
  };
  document.Populate(generator);

  if (handler.too_deep())
    throw DecodeError(std::string(what) + " nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
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

}  // namespace herald::detail
