#include "core/python_json.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

}  // namespace herald::detail
