#include "core/oslo_envelope.hpp"

#include "core/json_escape.hpp"
#include "core/utf8.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace herald::detail {
namespace {

constexpr std::string_view kCanonicalPrefix = R"({"oslo.version": "2.0", "oslo.message": ")";
constexpr std::string_view kCanonicalSuffix = R"("})";

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// Non-zero when some byte of `word` is '"', '\\' or below 0x20 (SWAR zero-byte tests). Bytes
// above a true hit may be flagged falsely, which only ends the fast run early.
constexpr std::uint64_t special_bytes(std::uint64_t word) noexcept {
  const std::uint64_t quote = word ^ (kOnes * '"');
  const std::uint64_t backslash = word ^ (kOnes * '\\');
  return (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | ((word - kOnes * 0x20) & ~word)) &
         kHighBits;
}

// Decodes the escape at text[pos] (just after the backslash); advances pos. nullptr if invalid.
char* unescape_one(std::string_view text, std::size_t& pos, char* out) noexcept {
  if (pos >= text.size()) return nullptr;
  const char kind = text[pos++];
  if (const int value = simple_escape_value(kind); value >= 0) {
    *out++ = static_cast<char>(value);
    return out;
  }
  if (kind != 'u') return nullptr;
  const long unit = hex4(text, pos);
  if (unit < 0) return nullptr;
  pos += 4;
  if (unit >= 0xDC00 && unit <= 0xDFFF) return nullptr;  // lone low surrogate
  if (unit < 0xD800 || unit > 0xDBFF) return put_utf8(static_cast<char32_t>(unit), out);
  // A high surrogate must be followed by an escaped low one.
  if (text.size() - pos < 6 || text[pos] != '\\' || text[pos + 1] != 'u') return nullptr;
  const long low = hex4(text, pos + 2);
  if (low < 0xDC00 || low > 0xDFFF) return nullptr;
  pos += 6;
  return put_utf8(static_cast<char32_t>(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), out);
}

// Copies the run of plain bytes (printable ASCII other than '"' and '\\') at text[pos] to `out`,
// advancing `out`; returns the run's length. Whole blocks are stored, so `out` must have room
// for text.size() - pos bytes.
std::size_t copy_plain_run(std::string_view text, std::size_t pos, char*& out) noexcept {
  const std::size_t start = pos;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1F);
  while (text.size() - pos >= 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + pos));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), block);
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)),
                                         _mm_cmpeq_epi8(_mm_max_epu8(block, control_max), control_max));
    // High bit set: a non-ASCII byte, which the caller validates.
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special) | _mm_movemask_epi8(block));
    if (mask != 0) {
      const auto plain = static_cast<std::size_t>(std::countr_zero(mask));
      out += plain;
      return pos + plain - start;
    }
    out += 16;
    pos += 16;
  }
#endif
  while (text.size() - pos >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + pos, sizeof word);
    std::memcpy(out, &word, sizeof word);
    const std::uint64_t special = special_bytes(word) | (word & kHighBits);
    if (special != 0) {
      // On little-endian machines the lowest flagged byte is a true hit; elsewhere step bytewise.
      const std::size_t plain =
          std::endian::native == std::endian::little ? static_cast<std::size_t>(std::countr_zero(special) / 8) : 0;
      out += plain;
      return pos + plain - start;
    }
    out += 8;
    pos += 8;
  }
  return pos - start;
}

}  // namespace

std::optional<std::string_view> unescape_canonical_v2(std::string_view body,
                                                      rapidjson::Document::AllocatorType& allocator) {
  if (body.size() < kCanonicalPrefix.size() + kCanonicalSuffix.size() || !body.starts_with(kCanonicalPrefix) ||
      !body.ends_with(kCanonicalSuffix))
    return std::nullopt;
  const std::string_view text =
      body.substr(kCanonicalPrefix.size(), body.size() - kCanonicalPrefix.size() - kCanonicalSuffix.size());
  // Unescaping never lengthens the text (a 6-byte \uXXXX yields at most 3 bytes, a 12-byte pair 4).
  char* const begin = static_cast<char*>(allocator.Malloc(text.size() + 1));
  char* out = begin;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // A block at a time. `out` trails `pos` (unescaping never lengthens), so writing a whole
    // block stays inside the buffer; only the bytes before the first special one are kept.
    pos += copy_plain_run(text, pos, out);
    if (pos == text.size()) break;
    const auto byte = static_cast<unsigned char>(text[pos]);
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
    if (byte != '\\' && byte != '"' && byte >= 0x20) {
      *out++ = static_cast<char>(byte);
      ++pos;
      continue;
    }
    if (byte != '\\') return std::nullopt;  // the string ends early, or a raw control character
    // \" and \\ make up nearly all escapes in an escaped JSON document.
    if (pos + 1 < text.size() && (text[pos + 1] == '"' || text[pos + 1] == '\\')) {
      *out++ = text[pos + 1];
      pos += 2;
      continue;
    }
    out = unescape_one(text, ++pos, out);
    if (out == nullptr) return std::nullopt;
  }
  *out = '\0';
  return std::string_view(begin, static_cast<std::size_t>(out - begin));
}

}  // namespace herald::detail
