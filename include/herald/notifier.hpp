#pragma once
/// @file notifier.hpp

#include <herald/metrics.hpp>
#include <herald/notification.hpp>
#include <herald/outbox.hpp>
#include <herald/priority.hpp>
#include <herald/transport.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald {

namespace detail {
class NotifierState;
}

/// A send that failed: which notification, where, and why. Never carries the payload.
struct SendFailure {
  std::string message_id;
  std::string event_type;
  Priority priority = Priority::info;
  std::string routing_key;  ///< "<topic>.<priority>"
  std::error_code error;
  std::string reason;  ///< what the transport said (e.g. "queue full (reject-publish)"); may be empty
};

/// Captures what the `test` notifier driver received, for users' own tests.
/// **Thread safety:** thread-safe.
class NotificationCapture {
 public:
  /// Records one notification (called by the `test` driver).
  void record(const Notification& notification);
  /// A copy of everything recorded so far, in order.
  std::vector<Notification> notifications() const;
  std::size_t size() const;
  /// Forgets everything recorded.
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<Notification> notifications_;
};

/// Notifier configuration; validated once by the Notifier constructor (ConfigError names the
/// field).
struct NotifierOptions {
  /// Sender identity, e.g. "compute.host1". Empty is sent as JSON null.
  std::string publisher_id;
  /// Topics; each notification goes to `<topic>.<priority>` for every topic.
  std::vector<std::string> topics = {"notifications"};
  /// Notifier drivers, each called for every notification: `messagingv2` (oslo v2 envelope),
  /// `messaging` (v1), `log` (one log line, never the payload), `routing` (per-event routing
  /// from `routing_config`), `noop`, `test` (records into `capture`). An unknown name is a
  /// ConfigError (oslo silently ignores it).
  std::vector<std::string> drivers = {"messagingv2"};
  /// oslo retry: -1 = retry until the transport gives up (at-least-once), 0 = no retry, N = N.
  int retry = -1;
  /// Path of an oslo routing YAML file, required when `drivers` contains `routing`.
  std::string routing_config;
  /// Keep only oslo's safe context keys (oslo 14 `_sanitize_context`): user/project/domain ids
  /// and names, roles, request ids, is_admin... Drops `auth_token` and other secrets.
  bool sanitize_context = true;
  /// Called for every failed send (any thread; keep it short). Failures are also counted and
  /// reported by flush().
  std::function<void(const SendFailure&)> on_error;
  /// Where the `test` driver records; created on demand when null and `test` is listed.
  std::shared_ptr<NotificationCapture> capture;
  /// Logger for failures and for the `log` driver; null → a private stderr logger.
  std::shared_ptr<spdlog::logger> logger;
  /// The durable outbox (off while `outbox.directory` is empty): each notification is written
  /// to disk before the priority method returns and removed once the broker confirmed it; a
  /// Notifier opening an outbox with unconfirmed entries sends them again. Opening a locked
  /// outbox throws ConfigError. See OutboxOptions and docs/reliability.md.
  OutboxOptions outbox;
  /// Where sent / confirmed / failed counts, in-flight and confirm latency are kept (see
  /// Metrics and docs/operations.md). Null → the transport's `TransportOptions::metrics`, if any.
  std::shared_ptr<Metrics> metrics;
};

/// Per-call overrides for Notifier::prepare (oslo's `prepare(publisher_id, retry)`).
struct PrepareOptions {
  std::optional<std::string> publisher_id;
  std::optional<int> retry;
};

/// Counters of a notifier and everything prepared from it.
struct NotifierStats {
  std::uint64_t notified = 0;   ///< priority-method calls
  std::uint64_t sent = 0;       ///< messages handed to the transport (one per topic)
  std::uint64_t confirmed = 0;  ///< messages the transport confirmed
  std::uint64_t failed = 0;     ///< messages that failed
  std::uint64_t pending = 0;    ///< sent but neither confirmed nor failed yet
};

/// What flush() saw.
struct FlushResult {
  std::uint64_t pending = 0;   ///< still unconfirmed when flush returned (0 unless timed out)
  std::uint64_t failed = 0;    ///< failures since the previous flush()
  std::error_code last_error;  ///< the most recent failure since the previous flush(), if any
  /// True when everything sent so far was confirmed and nothing failed since the last flush.
  bool ok() const noexcept { return pending == 0 && failed == 0; }
};

/// Emits notifications, as oslo.messaging's Notifier.
///
/// ```cpp
/// herald::Notifier notifier(transport, {.publisher_id = "compute.host1"});
/// notifier.info("{}", "compute.instance.create.end", R"({"instance_id": "42"})");
/// notifier.flush(std::chrono::seconds(5));
/// ```
/// The priority methods never throw transport errors: failures go to `on_error`, the counters
/// and flush(). They throw ArgumentError only for caller bugs (JSON text that
/// does not parse, a context that is not an object).
///
/// **Thread safety:** thread-safe; a Notifier and the notifiers prepare() returns share their
/// drivers and counters and may be used from any number of threads. Copies are cheap.
class Notifier {
 public:
  /// @throws ConfigError naming the bad field (no topics, empty topic, unknown driver, missing
  ///         or invalid routing_config...).
  Notifier(std::shared_ptr<Transport> transport, NotifierOptions options);
  ~Notifier();
  Notifier(const Notifier&);
  Notifier& operator=(const Notifier&);
  Notifier(Notifier&&) noexcept;
  Notifier& operator=(Notifier&&) noexcept;

  /// A notifier sharing this one's drivers, transport and counters, with another publisher_id
  /// and/or retry. Cheap.
  Notifier prepare(const PrepareOptions& overrides) const;

  /// Sends one notification. `context` must be an object; `payload` any JSON value.
  void notify(Priority priority, const rapidjson::Value& context, std::string_view event_type,
              const rapidjson::Value& payload);
  /// Same with JSON text for the context (empty = `{}`) and the payload, parsed by parse_json()
  /// (decode()'s rules); text it refuses throws ArgumentError saying why.
  void notify(Priority priority, std::string_view context_json, std::string_view event_type,
              std::string_view payload_json);

  void audit(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::audit, ctx, event_type, payload);
  }
  void debug(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::debug, ctx, event_type, payload);
  }
  void info(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::info, ctx, event_type, payload);
  }
  void warn(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::warn, ctx, event_type, payload);
  }
  void warning(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::warn, ctx, event_type, payload);
  }
  void error(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::error, ctx, event_type, payload);
  }
  void critical(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::critical, ctx, event_type, payload);
  }
  void sample(const rapidjson::Value& ctx, std::string_view event_type, const rapidjson::Value& payload) {
    notify(Priority::sample, ctx, event_type, payload);
  }

  void audit(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::audit, ctx, event_type, payload);
  }
  void debug(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::debug, ctx, event_type, payload);
  }
  void info(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::info, ctx, event_type, payload);
  }
  void warn(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::warn, ctx, event_type, payload);
  }
  void warning(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::warn, ctx, event_type, payload);
  }
  void error(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::error, ctx, event_type, payload);
  }
  void critical(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::critical, ctx, event_type, payload);
  }
  void sample(std::string_view ctx, std::string_view event_type, std::string_view payload) {
    notify(Priority::sample, ctx, event_type, payload);
  }

  /// False only when the drivers are exactly `noop` (oslo's rule).
  bool is_enabled() const noexcept;
  /// Waits up to `timeout` until every message sent so far is confirmed or failed.
  FlushResult flush(std::chrono::milliseconds timeout);
  NotifierStats stats() const noexcept;
  /// The outbox's depth, age and counters; nullopt when the outbox is off.
  std::optional<OutboxStats> outbox_stats() const;
  const std::string& publisher_id() const noexcept { return publisher_id_; }
  int retry() const noexcept { return retry_; }
  /// The capture of the `test` driver, or null when it is not configured.
  std::shared_ptr<NotificationCapture> capture() const noexcept;

 private:
  Notifier(std::shared_ptr<detail::NotifierState> state, std::string publisher_id, int retry);
  void send(Notification&& notification);
  std::shared_ptr<detail::NotifierState> state_;
  std::string publisher_id_;
  int retry_ = -1;
};

}  // namespace herald
