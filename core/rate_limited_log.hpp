#pragma once
// Failure logging that scales with causes, not with messages: the first failure of a cause is
// logged at once, later ones of the same cause are counted and summarised once per window
// ("2,806 sends failed in the last 10 s: queue full (reject-publish)"). Pure: the caller passes
// the time and writes the returned lines to its logger.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace herald::detail {

/// **Thread safety:** none; one owner (guard it with the owner's lock).
class RateLimitedLog {
 public:
  using Clock = std::chrono::steady_clock;

  /// `what` names the event in summaries ("sends failed").
  explicit RateLimitedLog(std::string what, std::chrono::milliseconds window = std::chrono::seconds(10))
      : what_(std::move(what)), window_(window) {}

  /// Counts one event of `cause`. Returns the line to log now (the first event of a cause in
  /// a window), or an empty string when it is only counted.
  std::string record(const std::string& cause, Clock::time_point now);

  /// Lines summarising causes whose window ended (call it periodically, and once at the end
  /// with `force` to flush every count).
  std::vector<std::string> summaries(Clock::time_point now, bool force = false);

 private:
  struct Cause {
    Clock::time_point window_start;
    std::uint64_t unlogged = 0;  // counted since the last line about this cause
  };
  std::string what_;
  std::chrono::milliseconds window_;
  std::map<std::string, Cause> causes_;
};

}  // namespace herald::detail
