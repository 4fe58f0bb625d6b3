#include "core/json_scan.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace herald::detail {
namespace {

constexpr bool stops(StopAt set, unsigned char byte) noexcept {
  if (byte == '"' || byte == '\\' || byte < 0x20) return true;
  if (set == StopAt::json_syntax) return false;
  if (byte >= 0x80) return true;
  return set == StopAt::python_ascii_escapes && byte == 0x7F;
}

template <StopAt Set>
constexpr std::array<bool, 256> kStops = [] {
  std::array<bool, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) table[byte] = stops(Set, static_cast<unsigned char>(byte));
  return table;
}();

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// The high bit of each byte of `word` that equals `byte`: exact for the lowest flagged byte;
// bytes above a true hit may be flagged falsely (the borrow), so only the lowest is used.
constexpr std::uint64_t equal_bytes(std::uint64_t word, unsigned char byte) noexcept {
  const std::uint64_t x = word ^ (kOnes * byte);
  return (x - kOnes) & ~x;
}

}  // namespace

template <StopAt Set>
std::size_t plain_run_length(const char* text, std::size_t size) noexcept {
  std::size_t pos = 0;
#if defined(__SSE2__)
  while (size - pos >= 16) {
    const unsigned mask = stop_mask<Set>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text + pos)));
    if (mask != 0) return pos + static_cast<std::size_t>(std::countr_zero(mask));
    pos += 16;
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    // Eight bytes at a time (SWAR zero-byte tests). Only the lowest flagged byte is certain to
    // be a hit; the bytewise loop below then finds the exact end from there.
    while (size - pos >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, text + pos, sizeof word);
      std::uint64_t special = equal_bytes(word, '"') | equal_bytes(word, '\\') | ((word - kOnes * 0x20) & ~word);
      if constexpr (Set == StopAt::python_ascii_escapes) special |= equal_bytes(word, 0x7F);
      if constexpr (Set != StopAt::json_syntax) special |= word;
      special &= kHighBits;
      if (special != 0) {
        pos += static_cast<std::size_t>(std::countr_zero(special) / 8);
        break;
      }
      pos += 8;
    }
  }
  while (pos < size && !kStops<Set>[static_cast<unsigned char>(text[pos])]) ++pos;
  return pos;
}

template std::size_t plain_run_length<StopAt::json_syntax>(const char*, std::size_t) noexcept;
template std::size_t plain_run_length<StopAt::json_syntax_and_non_ascii>(const char*, std::size_t) noexcept;
template std::size_t plain_run_length<StopAt::python_ascii_escapes>(const char*, std::size_t) noexcept;

}  // namespace herald::detail
