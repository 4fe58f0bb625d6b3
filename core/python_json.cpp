#include "core/python_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace herald::detail {

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

char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept {
  constexpr char32_t kReplacement = 0xFFFD;
  const auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte_at(pos);
  std::size_t length = 0;
  char32_t code_point = 0;
  char32_t minimum = 0;
  if (lead < 0x80) {
    ++pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, code_point = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code_point = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code_point = lead & 0x07, minimum = 0x10000;
  } else {
    ++pos;
    return kReplacement;
  }
  if (pos + length > text.size()) {
    ++pos;
    return kReplacement;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char continuation = byte_at(pos + i);
    if ((continuation & 0xC0) != 0x80) {
      ++pos;
      return kReplacement;
    }
    code_point = (code_point << 6) | (continuation & 0x3F);
  }
  if (code_point < minimum || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    ++pos;
    return kReplacement;
  }
  pos += length;
  return code_point;
}

}  // namespace herald::detail
