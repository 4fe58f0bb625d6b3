#pragma once
// What a transport must offer for `herald dlq` beyond listen() and send(): reading a queue
// without consuming it, and purging it. DeadLetterQueue (transports/dead_letter_queue.cpp) builds
// inspect/replay/purge on top of it; replay consumes through the ordinary TransportDriver::listen().

#include <herald/dead_letters.hpp>
#include <herald/transport.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace herald::detail {

/// **Thread safety:** one call at a time.
class DeadLetterBackend {
 public:
  virtual ~DeadLetterBackend() = default;
  /// Copies of the first `max` messages of the queue in order, with what the transport knows
  /// of their origin (`notification` is left empty); the queue is left as it was.
  virtual std::vector<DeadLetter> browse(std::size_t max) = 0;
  /// How many messages the queue holds now.
  virtual std::size_t depth() = 0;
  /// Removes every message; returns how many there were.
  virtual std::size_t purge() = 0;
};

/// memory:// — null when `transport` is not a memory transport. `queue` empty = the
/// transport's dead-letter queue; `resolved` receives the name used.
std::unique_ptr<DeadLetterBackend> make_memory_dead_letters(Transport& transport, const std::string& queue,
                                                            std::string& resolved);

/// amqp:// — the RabbitMQ management HTTP API (transports/rabbitmq_dead_letters.cpp).
/// @throws ConfigError when no queue is named and the URL sets no dead_letter_exchange.
std::unique_ptr<DeadLetterBackend> make_rabbitmq_dead_letters(Transport& transport, const std::string& queue,
                                                              std::chrono::milliseconds timeout, std::string& resolved);

}  // namespace herald::detail
