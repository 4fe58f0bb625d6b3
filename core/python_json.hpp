#pragma once
// A JSON writer that reproduces Python's `json.dumps` defaults byte for byte: separators ", " and
// ": ", ensure_ascii (\uXXXX in lower-case hex, surrogate pairs above the BMP), Python's escape
// set, float repr, and NaN/Infinity as Python writes them.
//
// RapidJSON's Writer was rejected: it cannot produce Python's separators nor its float repr.
//
// The writer can also emit its output already escaped as the content of a JSON string
// (`Nested = true`), which is how oslo's v2 envelope carries the inner message: because the
// inner text is pure printable ASCII (ensure_ascii), escaping it again only means doubling
// backslashes and escaping quotes, so both layers are written in one pass without a temporary
// buffer.

#include "core/json_scan.hpp"

#include "core/utf8.hpp"

#include <herald/error.hpp>

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::detail {

/// Deepest nesting of arrays and objects the codec accepts in either direction.
inline constexpr int kMaxJsonDepth = 512;

/// Appends `value` as Python's `repr(float)` does: shortest round-trip digits, "1.0" for whole
/// numbers, exponent form "1e+16" / "1.5e-05" outside [1e-4, 1e16), "NaN", "Infinity",
/// "-Infinity".
void append_python_float(double value, std::string& out);

/// Python-compatible JSON writer appending to a caller-owned string.
/// `Nested`: write the text as the escaped content of an enclosing JSON string.
template <bool Nested>
class PythonJsonWriter {
 public:
  explicit PythonJsonWriter(std::string& out) noexcept : out_(out) {}

  /// A structural quote character.
  void quote() {
    if constexpr (Nested)
      out_.append("\\\"", 2);
    else
      out_.push_back('"');
  }

  /// Text known to contain only printable ASCII without quotes or backslashes.
  void raw(std::string_view text) { out_.append(text); }

  /// A JSON string literal (quoted), escaped as Python's ensure_ascii encoder does.
  void string(std::string_view utf8) {
    quote();
    string_body(utf8);
    quote();
  }

  /// The escaped body of a string literal, without the quotes.
  void string_body(std::string_view utf8) {
    std::size_t pos = 0;
    while (pos < utf8.size()) {
      // A string literal holds printable ASCII other than '"' and '\\' unchanged.
      const std::size_t run =
          pos + plain_run_length<StopAt::python_ascii_escapes>(utf8.data() + pos, utf8.size() - pos);
      out_.append(utf8.data() + pos, run - pos);
      if (run == utf8.size()) break;
      pos = run;
      const auto byte = static_cast<unsigned char>(utf8[pos]);
      if (byte < 0x80) {
        ++pos;
        escape_ascii(byte);
      } else {
        // Invalid UTF-8 (which no Python str can hold) is written as U+FFFD.
        escape_code_point(next_code_point(utf8, pos));
      }
    }
  }

  /// Any JSON value; `depth` is the nesting level of `value` itself (1 for a top-level value).
  /// @throws ArgumentError when arrays/objects nest deeper than kMaxJsonDepth.
  void value(const rapidjson::Value& value, int depth) {
    switch (value.GetType()) {
      case rapidjson::kNullType:
        raw("null");
        return;
      case rapidjson::kFalseType:
        raw("false");
        return;
      case rapidjson::kTrueType:
        raw("true");
        return;
      case rapidjson::kStringType:
        string({value.GetString(), value.GetStringLength()});
        return;
      case rapidjson::kNumberType:
        number(value);
        return;
      case rapidjson::kArrayType: {
        check_depth(depth);
        out_.push_back('[');
        bool first = true;
        for (const rapidjson::Value& element : value.GetArray()) {
          if (!first) out_.append(", ", 2);
          first = false;
          this->value(element, depth + 1);
        }
        out_.push_back(']');
        return;
      }
      case rapidjson::kObjectType: {
        check_depth(depth);
        out_.push_back('{');
        bool first = true;
        for (const auto& member : value.GetObject()) {
          if (!first) out_.append(", ", 2);
          first = false;
          string({member.name.GetString(), member.name.GetStringLength()});
          out_.append(": ", 2);
          this->value(member.value, depth + 1);
        }
        out_.push_back('}');
        return;
      }
    }
  }

 private:
  void backslash() {
    if constexpr (Nested)
      out_.append("\\\\", 2);
    else
      out_.push_back('\\');
  }

  void escape_ascii(unsigned char byte) {
    backslash();
    switch (byte) {
      case '"':
        quote();
        return;
      case '\\':
        backslash();
        return;
      case '\n':
        out_.push_back('n');
        return;
      case '\r':
        out_.push_back('r');
        return;
      case '\t':
        out_.push_back('t');
        return;
      case '\b':
        out_.push_back('b');
        return;
      case '\f':
        out_.push_back('f');
        return;
      default:
        unicode_escape_digits(byte);
        return;  // other controls and DEL (0x7f)
    }
  }

  void escape_code_point(char32_t code_point) {
    if (code_point >= 0x10000) {
      const char32_t offset = code_point - 0x10000;
      backslash();
      unicode_escape_digits(0xD800 + (offset >> 10));
      backslash();
      unicode_escape_digits(0xDC00 + (offset & 0x3FF));
    } else {
      backslash();
      unicode_escape_digits(code_point);
    }
  }

  // "uXXXX" in lower-case hex; the backslash was already written.
  void unicode_escape_digits(char32_t unit) {
    static constexpr char kHex[] = "0123456789abcdef";
    const char digits[5] = {'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF], kHex[(unit >> 4) & 0xF],
                            kHex[unit & 0xF]};
    out_.append(digits, 5);
  }

  void number(const rapidjson::Value& value);

  static void check_depth(int depth) {
    if (depth > kMaxJsonDepth)
      throw ArgumentError("JSON value nested deeper than " + std::to_string(kMaxJsonDepth) +
                          " levels cannot be encoded");
  }

  std::string& out_;
};

/// Appends a RapidJSON number as Python would print the same int or float.
void append_python_number(const rapidjson::Value& value, std::string& out);

template <bool Nested>
void PythonJsonWriter<Nested>::number(const rapidjson::Value& value) {
  append_python_number(value, out_);
}

}  // namespace herald::detail
