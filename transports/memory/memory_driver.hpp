#pragma once
// memory:// — an in-process broker with RabbitMQ's topology rules.
//
// URL options (query):
//   max_depth=N            ready messages per queue (default 100000; 0 = unbounded)
//   overflow=block|reject|drop_head
//                          what a send does when a queue is full (default block):
//                          block     waits up to TransportOptions::send_timeout for room, then
//                                    the send fails with Errc::overflow;
//                          reject    the send fails at once with Errc::overflow;
//                          drop_head the oldest ready message is dead-lettered to make room.
//   dead_letter_queue=Q    queue receiving rejected messages (default "herald.dead_letter");
//                          itself bounded by max_depth, dropping its oldest (counted, logged).
//   declare_on_send=true|false
//                          whether a send declares the default queue "<topic>.<priority>" as
//                          oslo's publisher does (default true, store-and-forward). As on
//                          RabbitMQ, a default queue nobody consumes (e.g. only pooled
//                          listeners) fills up; with overflow=block its senders then fail after
//                          send_timeout. Use declare_on_send=false when every consumer is pooled.
//
// Routing: exchange + routing key, exact match (notification routing keys have no wildcards).

#include "transports/transport_driver.hpp"

#include <herald/transport.hpp>

namespace herald::detail {

/// Counters of one memory broker, for tests and the demo.
struct MemoryBrokerStats {
  std::uint64_t published = 0;
  std::uint64_t unroutable = 0;  ///< sends that matched no queue (confirmed, as RabbitMQ)
  std::uint64_t overflow_rejected = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t dead_letter_dropped = 0;
};

}  // namespace herald::detail
