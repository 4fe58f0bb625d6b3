#include <herald/priority.hpp>

#include <array>
#include <cctype>

namespace herald {
namespace {

constexpr std::array<std::string_view, kPriorityCount> kLower = {"audit", "debug",    "info",  "warn",
                                                                 "error", "critical", "sample"};
constexpr std::array<std::string_view, kPriorityCount> kUpper = {"AUDIT", "DEBUG",    "INFO",  "WARN",
                                                                 "ERROR", "CRITICAL", "SAMPLE"};

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

}  // namespace

std::string_view to_string(Priority priority) noexcept { return kLower[index_of(priority)]; }

std::string_view to_upper_string(Priority priority) noexcept { return kUpper[index_of(priority)]; }

std::optional<Priority> parse_priority(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kPriorityCount; ++i)
    if (iequals(text, kLower[i])) return kAllPriorities[i];
  if (iequals(text, "warning")) return Priority::warn;
  return std::nullopt;
}

}  // namespace herald
