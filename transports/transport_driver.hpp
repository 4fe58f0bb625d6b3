#pragma once
// The driver interface: the narrow seam between Herald's notifier/server and a transport.
// Internal (herald::detail); tools and users go through Transport, Notifier and
// NotificationServer. Public non-virtual functions do the checks; drivers implement the
// protected hooks (spdlog base_sink style).

#include <herald/error.hpp>
#include <herald/transport.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::detail {

/// One encoded notification on its way out.
struct OutgoingMessage {
  std::string exchange;     ///< resolved exchange (never empty)
  std::string routing_key;  ///< "<topic>.<priority>"
  std::string body;         ///< encoded JSON (v1 or v2)
  std::string message_id;   ///< the notification's message_id (AMQP message-id)
  /// oslo's retry: -1 = keep trying (resend after reconnects), 0 = no retry, N = at most N resends.
  int retry = -1;
};

/// Called exactly once per send, from any thread, with the outcome: {} when the transport
/// confirmed the message (memory: enqueued; amqp: `accepted` by a queue), else the error and a
/// reason naming the cause (e.g. "exchange 'x' exists with durable=true"); empty on success.
using SendCallback = std::function<void(std::error_code, std::string_view reason)>;

/// One queue a listener consumes, bound to `exchange` with `routing_key`.
/// Without a pool, queue == routing_key ("<topic>.<priority>"); with pool P, queue == P.
struct QueueBinding {
  std::string queue;
  std::string exchange;
  std::string routing_key;
  /// The queue belongs to one server instance (ServerOptions::broadcast): the broker removes
  /// it when the instance is gone (exclusive, or expiring), and nobody else consumes it.
  bool broadcast = false;
};

/// What a listener consumes.
struct ListenSpec {
  std::vector<QueueBinding> bindings;
  /// Deliveries the transport may hand out before they are settled (prefetch / AMQP credit).
  std::size_t credit_window = 1000;
};

enum class Outcome { ack, requeue, reject };

/// A received message. Settle it exactly once with ack(), requeue() or reject(); later calls
/// are ignored. Destroying an unsettled message requeues it.
/// **Thread safety:** one thread at a time; may be settled from a thread other than the poller.
class IncomingMessage {
 public:
  virtual ~IncomingMessage() = default;
  IncomingMessage(const IncomingMessage&) = delete;
  IncomingMessage& operator=(const IncomingMessage&) = delete;

  const std::string& body() const noexcept { return body_; }
  /// True when the broker says it may have been delivered before.
  bool redelivered() const noexcept { return redelivered_; }
  /// Failed deliveries the broker counted before this one (AMQP header delivery-count:
  /// RabbitMQ 4 counts `modified` requeues; 0 where the broker does not count).
  std::uint32_t delivery_count() const noexcept { return delivery_count_; }
  /// The queue it came from.
  const std::string& queue() const noexcept { return queue_; }

  void ack() { settle_once(Outcome::ack); }
  void requeue() { settle_once(Outcome::requeue); }
  /// Dead-letters the message (to the dead-letter queue when one is configured).
  void reject() { settle_once(Outcome::reject); }
  bool settled() const noexcept { return settled_; }

 protected:
  IncomingMessage(std::string body, bool redelivered, std::string queue, std::uint32_t delivery_count = 0)
      : body_(std::move(body)), redelivered_(redelivered), queue_(std::move(queue)), delivery_count_(delivery_count) {}
  virtual void do_settle(Outcome outcome) = 0;
  /// For destructors of implementations: requeue when nobody settled.
  void settle_if_unsettled() {
    if (!settled_) settle_once(Outcome::requeue);
  }

 private:
  void settle_once(Outcome outcome) {
    if (settled_) return;
    settled_ = true;
    do_settle(outcome);
  }
  std::string body_;
  bool redelivered_ = false;
  std::string queue_;
  std::uint32_t delivery_count_ = 0;
  bool settled_ = false;
};

using IncomingBatch = std::vector<std::unique_ptr<IncomingMessage>>;

/// A poll-style consumer of one or more queues.
/// **Thread safety:** poll() from several threads at once (a server's workers each poll);
/// stop() from any thread.
class Listener {
 public:
  virtual ~Listener() = default;
  /// Waits up to `timeout` for a first message, then returns at most `max_batch` messages
  /// that are already available. Returns empty on timeout or once stopped.
  virtual IncomingBatch poll(std::chrono::milliseconds timeout, std::size_t max_batch) = 0;
  /// Stops asking for more deliveries (no new credit) so a stopping server can drain: what was
  /// prefetched, or was already granted and arrives later, stays pollable; a transport without
  /// prefetch returns empty from later polls. Idempotent, never blocks; stop() is still due.
  virtual void pause() = 0;
  /// Stops delivery: wakes a blocked poll(), later polls return empty, deliveries prefetched
  /// but not yet polled go back to their queue. Idempotent. Returns how many went back (0 from
  /// later calls).
  virtual std::size_t stop() = 0;
};

/// A transport implementation.
/// **Thread safety:** every member is thread-safe.
class TransportDriver {
 public:
  virtual ~TransportDriver() = default;
  /// Sends a message. May block the caller up to the transport's send timeout when a bounded
  /// queue or in-flight window is full (back-pressure). `done` is called exactly once.
  virtual void send(OutgoingMessage message, SendCallback done) = 0;
  /// Creates a listener for `spec`, declaring queues and bindings as the transport requires.
  /// @throws TransportError or ConfigError.
  virtual std::unique_ptr<Listener> listen(const ListenSpec& spec) = 0;
  /// The transport's current state; in-process transports are always connected.
  virtual TransportStatus status() const { return {TransportState::connected, {}}; }
};

}  // namespace herald::detail
