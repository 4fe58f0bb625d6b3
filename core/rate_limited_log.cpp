#include "core/rate_limited_log.hpp"

namespace herald::detail {
namespace {

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

std::string RateLimitedLog::record(const std::string& cause, Clock::time_point now) {
  auto [it, inserted] = causes_.try_emplace(cause);
  Cause& entry = it->second;
  if (inserted || now - entry.window_start >= window_) {
    // A new window: say it at once; what follows in this window goes into one summary.
    std::string line;
    if (!inserted && entry.unlogged > 0)
      line = with_thousands(entry.unlogged) + " " + what_ + " in the last " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(window_).count()) + " s: " + cause + "; ";
    entry.window_start = now;
    entry.unlogged = 0;
    return line + what_ + ": " + cause;
  }
  ++entry.unlogged;
  return {};
}

std::vector<std::string> RateLimitedLog::summaries(Clock::time_point now, bool force) {
  std::vector<std::string> lines;
  for (auto it = causes_.begin(); it != causes_.end();) {
    Cause& entry = it->second;
    bool window_over = now - entry.window_start >= window_;
    if ((window_over || force) && entry.unlogged > 0) {
      lines.push_back(with_thousands(entry.unlogged) + " " + what_ + " in the last " +
                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::max<Clock::duration>(now - entry.window_start, std::chrono::seconds(1)))
                                         .count()) +
                      " s: " + it->first);
      entry.unlogged = 0;
      entry.window_start = now;
    }
    // Forget quiet causes, so the next event of that cause is logged at once.
    if (window_over && entry.unlogged == 0 && now - entry.window_start >= window_)
      it = causes_.erase(it);
    else
      ++it;
  }
  return lines;
}

}  // namespace herald::detail
