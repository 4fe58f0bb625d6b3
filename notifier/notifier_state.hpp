#pragma once
// Internals shared by a Notifier, the notifiers prepare() makes from it, and its drivers.

#include "core/ids.hpp"
#include "core/rate_limited_log.hpp"
#include "metrics/instruments.hpp"
#include "notifier/outbox.hpp"

#include <herald/codec.hpp>
#include <herald/notifier.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace herald::detail {

class NotifierState;

/// A notifier driver (oslo's notify driver): messagingv2, messaging, log, routing, noop, test.
/// **Thread safety:** notify() is called concurrently from every thread using the notifier.
class NotifierDriver {
 public:
  virtual ~NotifierDriver() = default;
  /// Handles one notification. `notification` is shared by every driver of the call; drivers
  /// may set `unique_id` (the messaging drivers do, per topic, as oslo does).
  virtual void notify(Notification& notification, int retry) = 0;
};

/// Creates the driver called `name`; `routing` is allowed only when `allow_routing`.
/// @throws ConfigError for an unknown name.
std::unique_ptr<NotifierDriver> make_notifier_driver(const std::string& name, NotifierState& state, bool allow_routing);

/// The routing driver, configured from oslo's routing YAML file.
std::unique_ptr<NotifierDriver> make_routing_driver(const std::string& path, NotifierState& state);

class NotifierState : public std::enable_shared_from_this<NotifierState> {
 public:
  NotifierState(std::shared_ptr<Transport> transport, NotifierOptions options);
  /// Stops the outbox (its threads are joined here, never on a transport thread).
  ~NotifierState();
  /// Builds the drivers and opens the outbox; separate from the constructor because drivers
  /// keep a reference and the outbox reports to a weak_ptr of this object.
  void load_drivers();
  /// The outbox, or null when NotifierOptions::outbox is off.
  const std::shared_ptr<Outbox>& outbox() const noexcept { return outbox_; }

  /// Encodes `notification` once per topic (fresh `_unique_id` each) and sends it.
  void send_to_topics(Notification& notification, EnvelopeVersion version, int retry);
  void record_failure(const SendFailure& failure);

  const NotifierOptions& options() const noexcept { return options_; }
  spdlog::logger& logger() noexcept { return *logger_; }
  IdGenerator& ids() noexcept { return ids_; }
  std::shared_ptr<NotificationCapture> capture() const noexcept { return options_.capture; }
  /// The capture of the `test` driver, created on first use (also by routing's sub-drivers).
  std::shared_ptr<NotificationCapture> ensure_capture() {
    if (!options_.capture) options_.capture = std::make_shared<NotificationCapture>();
    return options_.capture;
  }
  bool is_enabled() const noexcept { return enabled_; }

  void notify_all(Notification& notification, int retry) {
    notified_.fetch_add(1, std::memory_order_relaxed);
    for (auto& driver : drivers_) driver->notify(notification, retry);
  }

  FlushResult flush(std::chrono::milliseconds timeout);
  NotifierStats stats() const noexcept;

 private:
  void complete(std::error_code error, const SendFailure* failure);
  void on_outbox_outcome(const OutboxOutcome& outcome);
  /// Metrics of one outcome of a message sent at `sent_at` (no-op without metrics).
  void observe(Priority priority, std::error_code error, std::chrono::steady_clock::time_point sent_at) noexcept;
  void log_failure(std::error_code error, const SendFailure& failure);

  std::shared_ptr<Transport> transport_;
  NotifierOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  IdGenerator ids_;
  std::vector<std::unique_ptr<NotifierDriver>> drivers_;
  bool enabled_ = true;
  std::unique_ptr<NotifierInstruments> instruments_;  // null without NotifierOptions::metrics
  std::shared_ptr<Outbox> outbox_;                    // null without NotifierOptions::outbox

  std::atomic<std::uint64_t> notified_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> confirmed_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::mutex flush_mutex_;
  std::condition_variable flush_cv_;
  std::uint64_t failed_since_flush_ = 0;  // guarded by flush_mutex_
  std::error_code last_error_;            // guarded by flush_mutex_
  std::mutex failure_log_mutex_;
  RateLimitedLog failure_log_{"notifications failed"};  // guarded by failure_log_mutex_
};

}  // namespace herald::detail
