#include "core/python_json.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace herald::detail {

std::size_t plain_run_length(const char* text, std::size_t size) noexcept {
  std::size_t pos = 0;
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (size - pos >= 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + pos));
    // Signed comparison: below 0x20 or 0x80 and above (negative as signed bytes).
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(block, space), _mm_cmpeq_epi8(block, del)),
                                         _mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
    if (mask != 0) return pos + static_cast<std::size_t>(std::countr_zero(mask));
    pos += 16;
  }
#endif
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  while (size - pos >= 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text + pos, sizeof word);
    // Zero-byte tests (exact for the lowest flagged byte) for '"', '\\', DEL, below 0x20, and the
    // high bit for non-ASCII bytes.
    const std::uint64_t quotes = word ^ (kOnes * '"');
    const std::uint64_t backslashes = word ^ (kOnes * '\\');
    const std::uint64_t dels = word ^ (kOnes * 0x7f);
    const std::uint64_t special = (((quotes - kOnes) & ~quotes) | ((backslashes - kOnes) & ~backslashes) |
                                   ((dels - kOnes) & ~dels) | ((word - kOnes * 0x20) & ~word) | word) &
                                  kHighBits;
    if (special != 0) {
      if constexpr (std::endian::native != std::endian::little) break;
      return pos + static_cast<std::size_t>(std::countr_zero(special) / 8);
    }
    pos += 8;
  }
  while (pos < size) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x20 || byte >= 0x7f || byte == '"' || byte == '\\') break;
    ++pos;
  }
  return pos;
}

void append_python_float(double value, std::string& out) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value < 0 ? "-Infinity" : "Infinity");
    return;
  }
  if (std::signbit(value)) {
    out.push_back('-');
    value = -value;
  }
  // Shortest round-trip digits in scientific form ("1.2345e+06"), then laid out as Python's
  // float_repr_style 'short' does (Objects/floatobject.c, Python/pystrtod.c format_float_short).
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const std::size_t e_pos = text.find('e');
  char digits[24];
  std::size_t digit_count = 0;
  for (std::size_t i = 0; i < e_pos; ++i)
    if (text[i] != '.') digits[digit_count++] = text[i];
  int exponent = 0;
  std::from_chars(text.data() + e_pos + (text[e_pos + 1] == '+' ? 2 : 1), text.data() + text.size(), exponent);
  const int decimal_point = exponent + 1;  // value = 0.<digits> * 10^decimal_point

  if (decimal_point <= -4 || decimal_point > 16) {
    out.push_back(digits[0]);
    if (digit_count > 1) {
      out.push_back('.');
      out.append(digits + 1, digit_count - 1);
    }
    out.push_back('e');
    out.push_back(exponent < 0 ? '-' : '+');
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out.push_back('0');
    out.append(std::to_string(magnitude));
    return;
  }
  const auto count = static_cast<int>(digit_count);
  if (decimal_point <= 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-decimal_point), '0');
    out.append(digits, digit_count);
  } else if (decimal_point >= count) {
    out.append(digits, digit_count);
    out.append(static_cast<std::size_t>(decimal_point - count), '0');
    out.append(".0");
  } else {
    out.append(digits, static_cast<std::size_t>(decimal_point));
    out.push_back('.');
    out.append(digits + decimal_point, digit_count - static_cast<std::size_t>(decimal_point));
  }
}

void append_python_number(const rapidjson::Value& value, std::string& out) {
  if (value.IsDouble()) {
    append_python_float(value.GetDouble(), out);
    return;
  }
  char buffer[24];
  std::to_chars_result result{};
  if (value.IsUint64())
    result = std::to_chars(buffer, buffer + sizeof buffer, value.GetUint64());
  else
    result = std::to_chars(buffer, buffer + sizeof buffer, value.GetInt64());
  out.append(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

}  // namespace herald::detail
