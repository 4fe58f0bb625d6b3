#pragma once
// UTF-8 decoding and validation for the codec (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).

#include <cstddef>
#include <string_view>

namespace herald::detail {

/// Decodes one UTF-8 code point at `text[pos]` and advances `pos` past it. On an invalid,
/// truncated, overlong or surrogate sequence returns U+FFFD and advances one byte.
char32_t next_code_point(std::string_view text, std::size_t& pos) noexcept;

/// Length (1 to 4) of the well-formed UTF-8 sequence starting at `text[pos]`, 0 if it is
/// invalid, truncated, overlong or a surrogate.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) noexcept;

/// True when `text` is well-formed UTF-8. Fast on ASCII (eight bytes per step).
bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace herald::detail
