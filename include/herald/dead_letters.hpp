#pragma once
/// @file dead_letters.hpp
/// Reading, replaying and purging a transport's dead-letter queue (`herald dlq`).

#include <herald/filter.hpp>
#include <herald/notification.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald {

class Transport;

namespace detail {
class DeadLetterBackend;
}

/// One message of a dead-letter queue, as inspection found it.
struct DeadLetter {
  /// 0-based position in the dead-letter queue when it was read.
  std::size_t position = 0;
  /// The message body, byte for byte (also when it does not decode).
  std::string body;
  /// Why it was dead-lettered: "rejected", "expired", "maxlen", "delivery_limit"; empty when
  /// the transport does not say.
  std::string reason;
  /// The queue it was dead-lettered from; empty when unknown.
  std::string queue;
  /// The exchange it was published to; empty when unknown (or RabbitMQ's default exchange).
  std::string exchange;
  /// The routing key it was published with (oslo: `<topic>.<priority>`); empty when unknown.
  std::string routing_key;
  /// The AMQP message-id, else the envelope's `message_id`; empty when neither exists.
  std::string message_id;
  /// The decoded notification; empty when the body does not decode.
  std::optional<Notification> notification;
  /// Why the body does not decode; empty when it does.
  std::string decode_error;
};

/// Where the dead-letter queue is and how long its operations may take.
struct DeadLetterOptions {
  /// The dead-letter queue. Empty = the transport's own: memory:// `dead_letter_queue`
  /// (default "herald.dead_letter"); amqp:// `dead_letter_queue` (default
  /// "<dead_letter_exchange>.queue"; an amqp:// transport without either needs this set).
  std::string queue;
  /// Timeout of each management API call (amqp://). Reading N messages costs RabbitMQ 3.10
  /// more than linear time (about 10 s for 5,000 on a loaded 2-core machine).
  std::chrono::milliseconds timeout{60'000};
  /// At most this many messages are read by one inspection or replay.
  std::size_t max_messages = 10'000;
};

/// What replay() sends and which messages it picks.
struct ReplayOptions {
  /// Routing key to republish to, "<topic>.<priority>". Empty = each message's original
  /// routing key (messages whose origin is unknown stay in the dead-letter queue).
  std::string to;
  /// Exchange for `to`; empty = the transport's control exchange. With `to` empty, the
  /// original exchange is used when known, else the control exchange.
  std::string exchange;
  /// Replay at most this many messages; 0 = all that match.
  std::size_t max_count = 0;
  /// Only notifications the filter matches are replayed (oslo's rules on publisher_id,
  /// event_type, context, metadata and payload). Undecodable messages never match.
  Filter filter;
  /// How long to wait for the broker to confirm the republished copies.
  std::chrono::milliseconds confirm_timeout{30'000};
  /// Republished copies awaiting confirmation at once.
  std::size_t in_flight = 100;
  /// replay() returns when no further dead letter arrived for this long (the management
  /// API's depth can lag; RabbitMQ may pause a delivery for a few seconds).
  std::chrono::milliseconds idle_timeout{5'000};
};

/// What replay() did. Every message not counted in `replayed` is still in the queue.
struct ReplayReport {
  std::size_t examined = 0;        ///< dead letters looked at
  std::size_t replayed = 0;        ///< confirmed by the broker, then removed from the queue
  std::size_t not_matched = 0;     ///< left: the filter did not match
  std::size_t undecodable = 0;     ///< left: the body does not decode
  std::size_t unknown_origin = 0;  ///< left: replay to the original routing key, which is unknown
  std::size_t failed = 0;          ///< left: the republish failed (see `error`)
  std::string error;               ///< the first failure, empty when none
};

/// A transport's dead-letter queue: read it without consuming it, republish its messages
/// (at least once), or empty it. See docs/operations.md, "Dead letters", for how each
/// transport reads a queue without consuming it.
///
/// **Thread safety:** one operation at a time per object; distinct objects may run
/// concurrently (but two replays of one queue would each hold part of it back).
class DeadLetterQueue {
 public:
  /// @throws ConfigError when the transport has no dead-letter queue and `options.queue` is
  ///         empty, or the transport has no dead-letter support.
  explicit DeadLetterQueue(std::shared_ptr<Transport> transport, DeadLetterOptions options = {});
  ~DeadLetterQueue();
  DeadLetterQueue(const DeadLetterQueue&) = delete;
  DeadLetterQueue& operator=(const DeadLetterQueue&) = delete;

  /// The queue's name.
  const std::string& name() const noexcept;

  /// The first `max_count` (0 = up to DeadLetterOptions::max_messages) messages, in queue
  /// order, each decoded where possible. Every message stays in the queue, in its place;
  /// undecodable ones included.
  /// @throws TransportError when the queue cannot be read (e.g. the management API refuses).
  std::vector<DeadLetter> inspect(std::size_t max_count = 0);

  /// How many messages the queue holds now (exact on RabbitMQ: one management API get).
  /// @throws TransportError when the queue cannot be read.
  std::size_t depth();

  /// Republishes matching messages to `options.to` (or their origin) and removes each from
  /// the dead-letter queue only after the broker confirmed its copy: at least once (a crash in
  /// between leaves both copies). Messages not replayed keep their order in the queue.
  /// @throws ConfigError for a bad `to`; TransportError when the queue cannot be read.
  ReplayReport replay(const ReplayOptions& options);

  /// Removes every message; returns how many there were.
  /// @throws TransportError when the queue cannot be purged.
  std::size_t purge();

 private:
  std::shared_ptr<Transport> transport_;
  DeadLetterOptions options_;
  std::unique_ptr<detail::DeadLetterBackend> backend_;
};

}  // namespace herald
