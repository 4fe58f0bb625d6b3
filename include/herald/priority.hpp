#pragma once
/// @file priority.hpp
/// The seven notification levels of oslo.messaging.

#include <array>
#include <optional>
#include <string_view>

namespace herald {

/// A notification level. On the wire the body carries the upper-case name (`INFO`) and the
/// routing key the lower-case one (`notifications.info`). `warning` is accepted as an alias of
/// `warn` when parsing but never produced.
enum class Priority : unsigned char { audit, debug, info, warn, error, critical, sample };

/// Number of priorities.
inline constexpr std::size_t kPriorityCount = 7;

/// Every priority in oslo's order (audit, debug, info, warn, error, critical, sample).
inline constexpr std::array<Priority, kPriorityCount> kAllPriorities = {
    Priority::audit, Priority::debug,    Priority::info,  Priority::warn,
    Priority::error, Priority::critical, Priority::sample};

/// Lower-case name, as used in routing keys and queue names: "info", "warn", ...
/// **Thread safety:** pure function.
std::string_view to_string(Priority priority) noexcept;

/// Upper-case name, as carried in the notification body: "INFO", "WARN", ...
/// **Thread safety:** pure function.
std::string_view to_upper_string(Priority priority) noexcept;

/// Parses a priority name case-insensitively; "warning" maps to Priority::warn.
/// @return the priority, or std::nullopt for anything else (including "").
/// **Thread safety:** pure function.
std::optional<Priority> parse_priority(std::string_view text) noexcept;

/// Index of a priority in kAllPriorities (0..6), for per-priority arrays.
constexpr std::size_t index_of(Priority priority) noexcept { return static_cast<std::size_t>(priority); }

}  // namespace herald
