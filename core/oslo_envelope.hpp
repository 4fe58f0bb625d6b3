#pragma once
// Fast path for the v2 envelope exactly as oslo (and Herald) write it.

#include <rapidjson/document.h>

#include <optional>
#include <string_view>

namespace herald::detail {

/// The v2 envelope around the escaped message text, byte for byte as Python's json.dumps writes
/// oslo's `{"oslo.version": "2.0", "oslo.message": <text>}`: the one definition for the encoder
/// and the decoder's fast path.
inline constexpr std::string_view kV2EnvelopePrefix = R"({"oslo.version": "2.0", "oslo.message": ")";
inline constexpr std::string_view kV2EnvelopeSuffix = R"("})";

/// If `body` is exactly `{"oslo.version": "2.0", "oslo.message": "<string>"}` (the byte layout
/// of Python's json.dumps) and the string is well-formed (valid escapes and UTF-8, no raw control
/// characters), returns its unescaped text, NUL-terminated, allocated from `allocator`.
/// Otherwise returns std::nullopt and the caller takes the general path, which also produces
/// the precise error; so this function never decides that a body is invalid.
std::optional<std::string_view> unescape_canonical_v2(std::string_view body,
                                                      rapidjson::Document::AllocatorType& allocator);

}  // namespace herald::detail
