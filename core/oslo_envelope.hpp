#pragma once
// Fast path for the v2 envelope exactly as oslo (and Herald) write it.

#include <rapidjson/document.h>

#include <optional>
#include <string_view>

namespace herald::detail {

/// If `body` is exactly `{"oslo.version": "2.0", "oslo.message": "<string>"}` (the byte layout
/// of Python's json.dumps) and the string is well-formed (valid escapes and UTF-8, no raw control
/// characters), returns its unescaped text, NUL-terminated, allocated from `allocator`.
/// Otherwise returns std::nullopt and the caller takes the general path, which also produces
/// the precise error; so this function never decides that a body is invalid.
std::optional<std::string_view> unescape_canonical_v2(std::string_view body,
                                                      rapidjson::Document::AllocatorType& allocator);

}  // namespace herald::detail
