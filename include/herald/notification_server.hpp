#pragma once
/// @file notification_server.hpp

#include <herald/endpoint.hpp>
#include <herald/metrics.hpp>
#include <herald/target.hpp>
#include <herald/transport.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald {

namespace detail {
class ServerRuntime;
}

/// NotificationServer configuration (oslo names in brackets); validated once by the
/// constructor (ConfigError names the field).
struct ServerOptions {
  /// Worker threads running handlers [executor_thread_pool_size]. Must be ≥ 1.
  std::size_t workers = 8;
  /// Pool name: listeners with the same pool share one queue named after it, bound to every
  /// `<topic>.<priority>`; empty = consume the shared `<topic>.<priority>` queues [pool].
  std::string pool;
  /// Broadcast handler type (as nameko's): every running server instance gets every
  /// notification, through a queue of its own bound to every `<topic>.<priority>`, which the
  /// broker removes when the instance is gone: exclusive to the connection on RabbitMQ 4,
  /// expiring after `rabbit_transient_queues_ttl` (default 1800 s) unused on RabbitMQ 3.x,
  /// unbound at stop() on memory://. Excludes `pool`.
  bool broadcast = false;
  /// Whether `Result::requeue` (or a handler exception) requeues [allow_requeue]. When false
  /// the message is acked and one line is logged, as oslo does.
  bool allow_requeue = false;
  /// Batch endpoints only: the most notifications per handler call [batch_size]. Must be ≥ 1.
  std::size_t batch_size = 100;
  /// Batch endpoints only: how long a batch may wait to fill, from the start of the poll
  /// [batch_timeout]. 0 = no waiting to fill: each batch is what is ready when its first
  /// message arrives.
  std::chrono::milliseconds batch_timeout{1000};
  /// A message requeued this many times is dead-lettered instead of requeued again (no hot
  /// redelivery loop). 0 = never requeue, dead-letter at once. Counted per server by
  /// `_unique_id` / message_id.
  std::uint32_t max_redeliveries = 5;
  /// How many recently handled `_unique_id`s (or message_ids) are remembered to ack-and-skip
  /// duplicates. 0 disables duplicate suppression.
  std::size_t dedup_window = 4096;
  /// Deliveries fetched but not yet settled, at most (prefetch / AMQP credit). Bounds memory.
  std::size_t credit_window = 1000;
  /// Logger; null → a private stderr logger.
  std::shared_ptr<spdlog::logger> logger;
  /// Where received / handled / requeued / dead-lettered / duplicate / released counts, the
  /// backlog and per-endpoint handler durations are kept (see Metrics and docs/operations.md).
  /// Null → the transport's `TransportOptions::metrics`, if any.
  std::shared_ptr<Metrics> metrics;
};

/// Counters of a server, since it was constructed.
///
/// Every message taken is counted once in `received` and, when settled, once in exactly one of
/// handled, filtered, no_endpoint, requeued, requeue_refused, dead_lettered, duplicates or
/// released. Single and batch servers count per message by the same rules: a message a batch
/// handler received is `handled` even when other messages of its batch were filtered out.
struct ServerStats {
  std::uint64_t received = 0;          ///< messages polled (a redelivery counts again)
  std::uint64_t handled = 0;           ///< acked after at least one handler received it
  std::uint64_t filtered = 0;          ///< acked: endpoints handle its priority, every one's filter said no
  std::uint64_t no_endpoint = 0;       ///< acked: no endpoint handles that priority
  std::uint64_t requeued = 0;          ///< sent back for redelivery (batch: its whole priority group)
  std::uint64_t requeue_refused = 0;   ///< requeue asked but allow_requeue is false: acked
  std::uint64_t dead_lettered = 0;     ///< rejected: redelivery limit, undecodable, unknown priority
  std::uint64_t undecodable = 0;       ///< of dead_lettered: body not an oslo notification
  std::uint64_t unknown_priority = 0;  ///< of dead_lettered: priority not one of the seven
  std::uint64_t duplicates = 0;        ///< acked and skipped by duplicate suppression (batch: also a
                                       ///< repeat inside one batch)
  std::uint64_t released = 0;          ///< returned unhandled at stop(), prefetched ones included
  std::uint64_t in_progress = 0;       ///< taken from the transport and not settled yet
};

/// Receives notifications and dispatches them to endpoints, as oslo's NotificationServer.
///
/// With single-notification endpoints, each of the `workers` threads polls the transport's
/// listener and decodes and dispatches what it took; with batch endpoints one poll thread
/// collects batches and hands them to `workers` threads. Results become ack / requeue /
/// reject. Undecodable messages and unknown priorities are dead-lettered with one warning and
/// a counter.
///
/// **Thread safety:** start(), stop(), wait(), wait_for() and stats() may be called from any thread, and
/// each is idempotent. Handlers run concurrently on the workers. Not copyable or movable; the
/// destructor stops and waits.
class NotificationServer {
 public:
  /// A server of single-notification endpoints.
  /// @throws ConfigError for bad options or targets, or when no endpoint handles any priority.
  NotificationServer(std::shared_ptr<Transport> transport, std::vector<Target> targets, std::vector<Endpoint> endpoints,
                     ServerOptions options = {});
  /// A server of batch endpoints (batch_size / batch_timeout apply).
  NotificationServer(std::shared_ptr<Transport> transport, std::vector<Target> targets,
                     std::vector<BatchEndpoint> endpoints, ServerOptions options = {});
  ~NotificationServer();
  NotificationServer(const NotificationServer&) = delete;
  NotificationServer& operator=(const NotificationServer&) = delete;

  /// Subscribes and starts polling. Starting a started server does nothing; starting after
  /// wait() restarts it. @throws TransportError when the listener cannot be created.
  void start();
  /// Stops polling: nothing new is taken; handlers already running finish; messages taken but
  /// not yet handled are released for redelivery. Returns without waiting. Same as
  /// `stop(std::chrono::milliseconds(0))`.
  void stop();
  /// Stops with a drain period: the listener stops granting credit; what it had already
  /// prefetched (at most `credit_window`) is still taken and handled until `drain_timeout` has
  /// passed; after that, messages not yet started go back for redelivery (released). A handler
  /// that is running is never interrupted. Returns without waiting; call wait_for() to wait for
  /// the end. Calling it again may only shorten the drain (e.g. a second SIGTERM → `stop()`
  /// releases at once).
  void stop(std::chrono::milliseconds drain_timeout);
  /// Waits until the polling threads and every handler have finished (after stop()), then the
  /// listener is closed.
  void wait();
  /// wait() with a deadline: true when the server finished within `timeout`; false when it has
  /// not been stopped, or a handler (or, on amqp, the link detach) is still running. After
  /// false, wait() or the destructor still wait for the end; a process that exits instead
  /// loses nothing: the broker requeues deliveries that were never settled.
  bool wait_for(std::chrono::milliseconds timeout);
  ServerStats stats() const noexcept;

 private:
  std::shared_ptr<detail::ServerRuntime> runtime_;
};

}  // namespace herald
