#pragma once
// The codec's one byte-class scan: how many bytes of a string body need no attention. The
// decoder's scanners (json_parse.cpp, oslo_envelope.cpp) and the Python-style encoder
// (python_json.hpp) differ only in which bytes stop the run, so the set is a parameter.

#include <bit>
#include <cstddef>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

#if defined(__SSE2__)
/// The bytes of `block` that `Set` stops at, one bit each (bit i: byte i).
template <StopAt Set>
inline unsigned stop_mask(__m128i block) noexcept {
  const __m128i control_max = _mm_set1_epi8(0x1F);
  __m128i special =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('"')), _mm_cmpeq_epi8(block, _mm_set1_epi8('\\'))),
                   _mm_cmpeq_epi8(_mm_max_epu8(block, control_max), control_max));
  if constexpr (Set == StopAt::python_ascii_escapes)
    special = _mm_or_si128(special, _mm_cmpeq_epi8(block, _mm_set1_epi8(0x7F)));
  if constexpr (Set != StopAt::json_syntax) special = _mm_or_si128(special, block);  // the high bit: ≥ 0x80
  return static_cast<unsigned>(_mm_movemask_epi8(special));
}
#endif

/// As plain_run_length, and copies the run to `out`. Inline, and it writes whole blocks so that
/// a short run costs no call and no separate copy: bytes past the run, up to `out + size`, may
/// be overwritten with garbage, so `out` must have room for `size` bytes (the caller then
/// writes over them). `out` must not overlap the text.
template <StopAt Set>
inline std::size_t copy_plain_run(const char* text, std::size_t size, char* out) noexcept {
  std::size_t pos = 0;
#if defined(__SSE2__)
  while (size - pos >= 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + pos));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + pos), block);
    const unsigned mask = stop_mask<Set>(block);
    if (mask != 0) return pos + static_cast<std::size_t>(std::countr_zero(mask));
    pos += 16;
  }
#endif
  const std::size_t run = pos + plain_run_length<Set>(text + pos, size - pos);
  std::memcpy(out + pos, text + pos, run - pos);
  return run;
}

extern template std::size_t plain_run_length<StopAt::json_syntax>(const char*, std::size_t) noexcept;
extern template std::size_t plain_run_length<StopAt::json_syntax_and_non_ascii>(const char*, std::size_t) noexcept;
extern template std::size_t plain_run_length<StopAt::python_ascii_escapes>(const char*, std::size_t) noexcept;

}  // namespace herald::detail
