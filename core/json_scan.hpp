#pragma once
// The codec's one byte-class scan: how many bytes of a string body need no attention. The
// decoder's scanners (json_parse.cpp, oslo_envelope.cpp) and the Python-style encoder
// (python_json.hpp) differ only in which bytes stop the run, so the set is a parameter.

#include <cstddef>

namespace herald::detail {

/// Which bytes end a run of plain bytes.
enum class StopAt {
  /// '"', '\\' and control characters (below 0x20): JSON string syntax; anything else, UTF-8
  /// included, is plain.
  json_syntax,
  /// json_syntax and every byte from 0x80 (the caller validates UTF-8 sequence by sequence).
  json_syntax_and_non_ascii,
  /// json_syntax, DEL (0x7F) and every byte from 0x80: what Python's ensure_ascii escapes.
  python_ascii_escapes,
};

/// The length of the run of bytes at `text` (of `size`) that `Set` does not stop at: `size`
/// when none does. Reads no byte at or past `text + size`.
template <StopAt Set>
std::size_t plain_run_length(const char* text, std::size_t size) noexcept;

extern template std::size_t plain_run_length<StopAt::json_syntax>(const char*, std::size_t) noexcept;
extern template std::size_t plain_run_length<StopAt::json_syntax_and_non_ascii>(const char*, std::size_t) noexcept;
extern template std::size_t plain_run_length<StopAt::python_ascii_escapes>(const char*, std::size_t) noexcept;

}  // namespace herald::detail
