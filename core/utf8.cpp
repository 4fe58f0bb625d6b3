#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace herald::detail {
namespace {

// Length of the valid sequence starting at `text[pos]` (storing its code point), or 0.
std::size_t decode_sequence(std::string_view text, std::size_t pos, char32_t& code_point) noexcept {
  const auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte_at(pos);
  std::size_t length = 0;
  char32_t minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, code_point = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code_point = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code_point = lead & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char continuation = byte_at(pos + i);
    if ((continuation & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (continuation & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept {
  char32_t code_point = 0;
  const std::size_t length = decode_sequence(text, pos, code_point);
  if (length == 0) {
    ++pos;
    return 0xFFFD;
  }
  pos += length;
  return code_point;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept {
  char32_t code_point = 0;
  return decode_sequence(text, pos, code_point);
}

bool is_valid_utf8(std::string_view text) noexcept {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text.size() - pos >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, text.data() + pos, sizeof word);
      if ((word & kHighBits) == 0) {
        pos += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t code_point = 0;
    const std::size_t length = decode_sequence(text, pos, code_point);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

}  // namespace herald::detail
