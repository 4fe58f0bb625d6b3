#pragma once
// Hardened JSON parsing for untrusted message bodies.

#include <rapidjson/document.h>

#include <cstddef>
#include <string_view>

namespace herald::detail {

/// Whether the parser must check that strings are valid UTF-8.
enum class Utf8 {
  validate,     ///< untrusted bytes
  known_valid,  ///< text taken from an already validated JSON string (the v2 inner message)
};

/// Parses `json` into `document`, replacing its root value. The document keeps its allocator, so
/// memory allocated earlier from it (for instance the text being parsed) stays valid.
///
/// Always iterative (no recursion, so deep input cannot overflow the stack), validates UTF-8,
/// parses doubles at full precision, accepts NaN/Infinity as Python's json module does, and
/// rejects nesting deeper than kMaxJsonDepth, embedded NUL bytes and trailing data.
/// @param what names the text in error messages ("message body", "oslo.message"); the text
///        itself is never quoted in an error.
/// @throws DecodeError
void parse_json_into(rapidjson::Document& document, std::string_view json, const char* what);

/// As parse_json_into, faster, for text followed by a NUL byte (`json.data()[json.size()] == 0`);
/// skips the UTF-8 check when `utf8` is Utf8::known_valid.
void parse_terminated_json_into(rapidjson::Document& document, std::string_view json, Utf8 utf8, const char* what);

/// As parse_terminated_json_into with Utf8::known_valid, for a writable NUL-terminated buffer
/// (`json[size] == 0`) that the parse may overwrite (RapidJSON's in-situ mode). The strings are
/// still copied into `document`, so the buffer need not outlive it.
void parse_insitu_json_into(rapidjson::Document& document, char* json, std::size_t size, const char* what);

}  // namespace herald::detail
