#pragma once
// What the Transport, notifier/ and server/ update: series resolved once from a Metrics handle,
// behind small out-of-line calls, so that prometheus-cpp stays inside metrics/ and the hot path
// never builds labels or looks a series up.

#include <herald/metrics.hpp>
#include <herald/priority.hpp>
#include <herald/transport.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace herald::detail {

/// herald_transport_state and herald_transport_reconnects_total of one transport.
/// **Thread safety:** thread-safe.
class TransportInstruments {
 public:
  explicit TransportInstruments(std::shared_ptr<Metrics> metrics);
  /// Records the state; entering `connected` again after the connection was lost
  /// (connecting/failed) counts one reconnect.
  void state_changed(TransportState state) noexcept;
  /// Records the state read once the driver exists, unless a change came in meanwhile.
  void initial_state(TransportState state) noexcept;

 private:
  void apply_locked(TransportState state) noexcept;
  std::shared_ptr<Metrics> metrics_;
  std::array<prometheus::Gauge*, 4> state_{};
  prometheus::Counter* reconnects_ = nullptr;
  std::mutex mutex_;
  bool seen_ = false;
  bool ever_connected_ = false;
  bool lost_ = false;
};

/// The notifier's series: sent / confirmed per priority, failed per priority and reason,
/// in flight, confirm latency. **Thread safety:** thread-safe.
class NotifierInstruments {
 public:
  explicit NotifierInstruments(std::shared_ptr<Metrics> metrics);
  /// A message was handed to the transport.
  void sent(Priority priority) noexcept;
  /// The transport confirmed a message `latency` after sent().
  void confirmed(Priority priority, std::chrono::steady_clock::duration latency) noexcept;
  /// A message failed (not the hot path: the series is looked up by its labels).
  void failed(Priority priority, std::error_code error) noexcept;

 private:
  std::shared_ptr<Metrics> metrics_;
  std::array<prometheus::Counter*, kPriorityCount> sent_{};
  std::array<prometheus::Counter*, kPriorityCount> confirmed_{};
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Histogram* confirm_latency_ = nullptr;
};

/// herald_outbox_depth, herald_outbox_oldest_age_seconds, herald_outbox_dropped_total and
/// herald_outbox_replayed_total of one outbox. **Thread safety:** thread-safe.
class OutboxInstruments {
 public:
  explicit OutboxInstruments(std::shared_ptr<Metrics> metrics);
  void update(std::uint64_t depth, double oldest_age_seconds) noexcept;
  void dropped(std::uint64_t count) noexcept;
  void replayed(std::uint64_t count) noexcept;

 private:
  std::shared_ptr<Metrics> metrics_;
  prometheus::Gauge* depth_ = nullptr;
  prometheus::Gauge* oldest_age_ = nullptr;
  prometheus::Counter* dropped_ = nullptr;
  prometheus::Counter* replayed_ = nullptr;
};

/// How the server settled a message it took from the transport.
enum class Settlement {
  handled,           ///< acked after at least one handler ran
  filtered,          ///< acked: every endpoint's filter said no
  no_endpoint,       ///< acked: no endpoint handles that priority
  requeue_refused,   ///< acked: a handler asked requeue but allow_requeue is false
  requeued,          ///< released for redelivery
  duplicate,         ///< acked and skipped by duplicate suppression
  released,          ///< returned unhandled at stop
  undecodable,       ///< dead-lettered: not an oslo notification
  unknown_priority,  ///< dead-lettered: priority not one of the seven
  redelivery_limit,  ///< dead-lettered: requeued more than max_redeliveries
};
inline constexpr std::size_t kSettlementCount = 10;

/// The server's series. **Thread safety:** thread-safe.
class ServerInstruments {
 public:
  explicit ServerInstruments(std::shared_ptr<Metrics> metrics);
  /// `count` messages were taken from the transport (they are backlog until settled).
  void received(std::size_t count) noexcept;
  /// One message was settled.
  void settled(Settlement settlement) noexcept;
  /// The handler-duration series of the endpoint named `endpoint` (resolve it once).
  prometheus::Histogram* handler_duration(const std::string& endpoint);
  /// Records one handler call on a series handler_duration() returned.
  static void observe(prometheus::Histogram* series, std::chrono::steady_clock::duration duration) noexcept;

 private:
  std::shared_ptr<Metrics> metrics_;
  prometheus::Counter* received_ = nullptr;
  prometheus::Gauge* backlog_ = nullptr;
  std::array<prometheus::Counter*, kSettlementCount> settled_{};
};

}  // namespace herald::detail
