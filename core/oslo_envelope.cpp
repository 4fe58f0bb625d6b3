#include "core/oslo_envelope.hpp"

#include "core/json_escape.hpp"
#include "core/json_scan.hpp"
#include "core/utf8.hpp"

#include <cstring>

namespace herald::detail {
namespace {

// Decodes the escape at text[pos] (just after the backslash); advances pos. nullptr if invalid.
char* unescape_one(std::string_view text, std::size_t& pos, char* out) noexcept {
  if (pos >= text.size()) return nullptr;
  const char kind = text[pos++];
  if (const int value = simple_escape_value(kind); value >= 0) {
    *out++ = static_cast<char>(value);
    return out;
  }
  if (kind != 'u') return nullptr;
  std::size_t end = 0;
  const long code_point = decode_u_escape(text, pos, end);
  if (code_point < 0) return nullptr;
  pos = end;
  return put_utf8(static_cast<char32_t>(code_point), out);
}

}  // namespace

std::optional<std::string_view> unescape_canonical_v2(std::string_view body,
                                                      rapidjson::Document::AllocatorType& allocator) {
  if (body.size() < kV2EnvelopePrefix.size() + kV2EnvelopeSuffix.size() || !body.starts_with(kV2EnvelopePrefix) ||
      !body.ends_with(kV2EnvelopeSuffix))
    return std::nullopt;
  const std::string_view text =
      body.substr(kV2EnvelopePrefix.size(), body.size() - kV2EnvelopePrefix.size() - kV2EnvelopeSuffix.size());
  // Unescaping never lengthens the text (a 6-byte \uXXXX yields at most 3 bytes, a 12-byte pair 4).
  char* const begin = static_cast<char*>(allocator.Malloc(text.size() + 1));
  char* out = begin;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // The plain run up to the next escape, quote, control or non-ASCII byte (printable ASCII
    // other than '"' and '\\'), copied at once. It may write past the run, never past
    // out + (text.size() - pos) <= begin + text.size(): `out` never gets ahead of `pos`.
    const std::size_t run =
        copy_plain_run<StopAt::json_syntax_and_non_ascii>(text.data() + pos, text.size() - pos, out);
    pos += run;
    out += run;
    if (pos == text.size()) break;
    const auto byte = static_cast<unsigned char>(text[pos]);
    // \" and \\ make up nearly all escapes in an escaped JSON document.
    if (byte == '\\' && pos + 1 < text.size() && (text[pos + 1] == '"' || text[pos + 1] == '\\')) {
      *out++ = text[pos + 1];
      pos += 2;
      continue;
    }
    if (byte >= 0x80) {
      // Raw UTF-8 is checked here, sequence by sequence. Escapes always produce whole sequences
      // (their first byte is never a continuation byte), so this accepts exactly the texts whose
      // unescaped form is valid UTF-8.
      const std::size_t length = utf8_sequence_length(text, pos);
      if (length == 0) return std::nullopt;
      std::memcpy(out, text.data() + pos, length);
      out += length;
      pos += length;
      continue;
    }
    if (byte != '\\') return std::nullopt;  // the string ends early, or a raw control character
    out = unescape_one(text, ++pos, out);
    if (out == nullptr) return std::nullopt;
  }
  *out = '\0';
  return std::string_view(begin, static_cast<std::size_t>(out - begin));
}

}  // namespace herald::detail
