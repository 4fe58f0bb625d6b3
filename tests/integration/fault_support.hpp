#pragma once
// Helpers of the real-broker fault tests (issue 8): a ledger of send outcomes and consumptions
// that prints the figures of a scenario, a consumer thread, and a sender/consumer rig. Broker
// control is in fault_broker.hpp, the `herald` CLI as a child process in fault_process.hpp.

#include "tests/integration/amqp_support.hpp"
#include "tests/integration/fault_broker.hpp"
#include "tests/integration/fault_process.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace herald::test {

// ---------------------------------------------------------------------------------------------
// Figures

/// The figures every fault test prints (one line) and asserts on.
struct FaultFigures {
  std::size_t attempted = 0;        ///< send() / notify() calls
  std::size_t confirmed = 0;        ///< outcome {}: the broker confirmed
  std::size_t failed = 0;           ///< outcome with an error
  std::size_t consumed_unique = 0;  ///< distinct messages consumed
  std::size_t duplicates = 0;       ///< consumptions beyond the first of a message
  std::size_t lost = 0;             ///< confirmed but never consumed
  std::size_t falsely_failed = 0;   ///< reported failed but consumed
  /// "attempted=N confirmed=N failed=N consumed_unique=N duplicates=N lost=N falsely_failed=N"
  std::string line() const;
};

/// Records, per sequence number, the send outcome and how often the message was consumed.
/// Message bodies are "seq:<n>" (see body_for()).
/// **Thread safety:** thread-safe.
class Ledger {
 public:
  explicit Ledger(std::size_t count);

  static std::string body_for(std::size_t seq) { return "seq:" + std::to_string(seq); }
  /// The sequence number of a body made by body_for(), or nullopt for a foreign body.
  static std::optional<std::size_t> seq_of(const std::string& body);

  std::size_t size() const noexcept { return count_; }
  /// Counts a send() call and returns the callback recording its outcome.
  detail::SendCallback on_outcome(std::size_t seq);
  /// Records one consumption of message `seq` (out-of-range numbers count as foreign).
  void consumed(std::size_t seq);

  /// Waits until `expected` outcomes came in; false on timeout.
  bool wait_outcomes(std::size_t expected, std::chrono::milliseconds timeout) const;
  /// Waits until every confirmed message (and every attempted one when `all_attempted`) was
  /// consumed, i.e. nothing confirmed is missing; false on timeout.
  bool wait_consumed(std::chrono::milliseconds timeout, bool all_attempted = false) const;

  std::size_t outcomes() const;
  std::size_t confirmed() const;
  std::size_t failed() const;
  std::size_t consumed_unique() const;
  /// Confirmed, not consumed, among sequence numbers [first, last).
  std::size_t lost_between(std::size_t first, std::size_t last) const;
  FaultFigures figures() const;
  /// Failure counts by "<error message>: <reason>", for the report.
  std::map<std::string, std::size_t> failure_reasons() const;
  /// The first failure's error code and reason.
  std::error_code first_error() const;
  std::string first_reason() const;

 private:
  enum class Outcome : unsigned char { none, confirmed, failed };
  const std::size_t count_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Outcome> outcome_;
  std::vector<std::uint32_t> consumed_;
  std::size_t attempted_ = 0;
  std::size_t outcomes_ = 0;
  std::size_t confirmed_ = 0;
  std::size_t failed_ = 0;
  std::size_t consumed_unique_ = 0;
  std::size_t duplicates_ = 0;
  std::size_t foreign_ = 0;
  std::map<std::string, std::size_t> reasons_;
  std::error_code first_error_;
  std::string first_reason_;
};

/// Polls a listener on its own thread, acks every delivery and records it in a ledger.
class ConsumerThread {
 public:
  ConsumerThread(detail::Listener& listener, Ledger& ledger);
  ~ConsumerThread();
  ConsumerThread(const ConsumerThread&) = delete;
  ConsumerThread& operator=(const ConsumerThread&) = delete;
  /// Steady-clock time of the last delivery (epoch when none yet).
  std::chrono::steady_clock::time_point last_delivery() const;
  /// Times of the deliveries, in order (for gap analysis).
  std::vector<std::chrono::steady_clock::time_point> delivery_times() const;
  /// The longest pause between two deliveries that came after `since`, in seconds (how long a
  /// fault kept a steadily fed consumer detached).
  double longest_pause(std::chrono::steady_clock::time_point since = {}) const;
  /// Keeps polling until no delivery came for `quiet` (late duplicates), then stops.
  void drain_and_stop(std::chrono::milliseconds quiet = std::chrono::milliseconds(1000));

 private:
  detail::Listener& listener_;
  Ledger& ledger_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::chrono::steady_clock::time_point> times_;
  std::thread thread_;
};

/// Calls `send(i)` for i in [0, count) at about `per_second` (0 = as fast as possible), on
/// the calling thread.
void send_paced(std::size_t count, double per_second, const std::function<void(std::size_t)>& send);

/// The first `max` distinct lines of a captured log, without their timestamps (for the report).
std::vector<std::string> log_sample(const CapturedLog& log, std::size_t max);
/// Lines in a captured log.
std::size_t log_lines(const CapturedLog& log);
/// Lines at level warning or above (what an operator sees by default).
std::size_t log_warnings(const CapturedLog& log);
/// Prints the figures with a scenario label, plus the failure reasons and a log sample.
void print_figures(const std::string& scenario, const Ledger& ledger, const CapturedLog* log = nullptr);

// ---------------------------------------------------------------------------------------------
// A sender and a consumer

/// A sender and a consumer on a fresh exchange and queue: the producer transport (options of
/// `query`, logging into `log`), and a listener on a transport of its own (its connection is
/// another victim of each fault) consumed into `ledger` by a ConsumerThread. Destroying it
/// deletes the queue and the exchange.
struct StreamRig {
  /// `send_timeout`: the producer's bound on blocking while its send buffer is full.
  StreamRig(std::size_t count, const std::string& query = "",
            std::chrono::milliseconds send_timeout = std::chrono::seconds(10));
  ~StreamRig();
  /// Sends message `seq` ("seq:<n>") from the producer, recording its outcome.
  void send(std::size_t seq);
  /// Consumes until quiet for 1 s, then stops the listener.
  void stop_consumer();

  BrokerObjects objects;
  const std::string exchange;
  const std::string key;  ///< routing key and queue name
  CapturedLog log;
  CapturedLog listener_log;
  std::shared_ptr<Transport> producer;
  std::shared_ptr<Transport> consumer_transport;
  std::unique_ptr<detail::Listener> listener;
  Ledger ledger;
  ConsumerThread consumer;

 private:
  bool consumer_stopped_ = false;
};

/// Consumes `queue` (existing; bound to `exchange` with `routing_key`) into `ledger` on a
/// transport of its own (topology=none) until every confirmed message arrived or `timeout`
/// passed, and then until it is quiet for `quiet`.
void drain_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key, Ledger& ledger,
                 std::chrono::milliseconds timeout, std::chrono::milliseconds quiet = std::chrono::milliseconds(1000));

}  // namespace herald::test
