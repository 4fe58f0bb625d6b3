#pragma once
// JSON string-escape pieces shared by the codec's scanners (json_parse.cpp, oslo_envelope.cpp)
// and the %-decoding of the URL parser.

#include <cstddef>
#include <string_view>

namespace herald::detail {

/// The value of one hexadecimal digit, or -1 when `c` is not one.
constexpr int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The four hex digits at `text[pos]` as a number, or -1 when truncated or malformed.
constexpr long hex4(std::string_view text, std::size_t pos) noexcept {
  if (pos > text.size() || text.size() - pos < 4) return -1;
  long value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int digit = hex_digit(text[pos + i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/// Decodes the `\u` escape whose four hex digits start at `text[pos]` (just after the `\u`); a
/// high surrogate takes the `\uXXXX` low surrogate that must follow it. Sets `end` past what
/// it read. Returns the code point, or -1 for bad hex digits and for a lone or reversed
/// surrogate (which Python's json accepts but no valid UTF-8 can hold). The one \u decoder of
/// the codec's scanners.
constexpr long decode_u_escape(std::string_view text, std::size_t pos, std::size_t& end) noexcept {
  const long unit = hex4(text, pos);
  if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return -1;
  pos += 4;
  if (unit < 0xD800 || unit > 0xDBFF) {
    end = pos;
    return unit;
  }
  if (text.size() - pos < 6 || text[pos] != '\\' || text[pos + 1] != 'u') return -1;
  const long low = hex4(text, pos + 2);
  if (low < 0xDC00 || low > 0xDFFF) return -1;
  end = pos + 6;
  return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
}

/// The byte a one-character JSON escape stands for (`n` → '\n', `"` → '"', ...), or -1 for
/// `u` (a \uXXXX escape) and for anything that is not a JSON escape.
constexpr int simple_escape_value(char kind) noexcept {
  switch (kind) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '/':
      return '/';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return -1;
  }
}

/// Writes code point `cp` (≤ U+10FFFF, not a surrogate) as 1 to 4 UTF-8 bytes at `out`;
/// returns the end of what was written.
inline char* put_utf8(char32_t cp, char* out) noexcept {
  if (cp < 0x80) {
    *out++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out++ = static_cast<char>(0xC0 | (cp >> 6));
    *out++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out++ = static_cast<char>(0xE0 | (cp >> 12));
    *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out++ = static_cast<char>(0xF0 | (cp >> 18));
    *out++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace herald::detail
