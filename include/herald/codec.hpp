#pragma once
/// @file codec.hpp
/// The oslo.messaging notification wire format (rabbit driver), encode and decode.

#include <herald/notification.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace herald {

/// Which body format to write. `v1` is oslo's `messaging` driver (the plain dict), `v2` its
/// `messagingv2` driver (the `{"oslo.version": "2.0", "oslo.message": "<json text>"}` envelope).
enum class EnvelopeVersion { v1, v2 };

/// Appends the body of `notification` to `out`, byte-for-byte as oslo.messaging 14's rabbit
/// driver writes it: keys `message_id, publisher_id, event_type, priority` (upper case),
/// `payload, timestamp, _unique_id`, then one `_context_<key>` per context member; Python
/// `json.dumps` formatting (`", "` and `": "` separators, `ensure_ascii`). An empty
/// `publisher_id` is written as null; an empty `message_id`, `timestamp` or `unique_id` omits
/// that key (as in oslo's minimal accepted message). Otherwise the notification's own
/// `message_id`, `timestamp` and `unique_id` are written as they are. Invalid UTF-8 inside a
/// string is written as `\ufffd`.
/// @throws ArgumentError if the context is not an object, or the payload or
///         context is nested deeper than 511 levels (so everything encoded can be decoded).
/// **Thread safety:** pure function.
void encode(const Notification& notification, EnvelopeVersion version, std::string& out);

/// Convenience overload returning a new string.
std::string encode(const Notification& notification, EnvelopeVersion version);

/// Decodes a v1 or v2 body. Accepts what oslo 14 accepts: a v1 dict, or a v2 envelope with a
/// compatible version ("2.0"); timestamps with or without the fraction; missing optional
/// fields (message_id, timestamp, publisher_id, _unique_id, context). `_context_<key>` entries
/// become the context object.
/// @throws DecodeError, whose code() says why: Errc::decode_error (truncated or invalid JSON,
///         wrong types, invalid UTF-8, nesting deeper than 512), Errc::unsupported_version (an
///         unknown `oslo.version`), Errc::unknown_priority (a missing or unknown priority).
/// **Thread safety:** pure function.
Notification decode(std::string_view body);

/// Parses JSON text with the rules decode() applies to message bodies: what Python's `json`
/// module accepts (NaN, Infinity and -Infinity included), numbers converted at full double
/// precision, valid UTF-8 only, no nesting deeper than 512, nothing after the value (an embedded
/// NUL byte included), never recursive. Every JSON text Herald takes goes through it:
/// decode(), Notification::set_payload_json/set_context_json, the text form of
/// Notifier::notify and the CLI's `--payload`, `--context` and stdin lines.
/// @param what names the text in the error ("payload", "stdin line"); the text is never quoted.
/// @throws DecodeError (Errc::decode_error) saying why and at which byte.
/// **Thread safety:** pure function.
rapidjson::Document parse_json(std::string_view json, std::string_view what);

/// Formats a UTC time as oslo does: "YYYY-MM-DD HH:MM:SS.ffffff".
std::string format_timestamp(std::chrono::system_clock::time_point time);

}  // namespace herald
