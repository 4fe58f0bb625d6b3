#pragma once
// oslo's queue naming for listeners, shared by NotificationServer and the topology export so
// the two can never disagree: for each target and priority, routing key `<topic>.<priority>`
// on the target's exchange (or the control exchange); the queue is the routing key, or the
// pool's name when a pool is given (one queue bound to every routing key), or, for a broadcast
// listener, a queue of its own bound to every routing key.

#include "transports/transport_driver.hpp"

#include <herald/error.hpp>
#include <herald/priority.hpp>
#include <herald/target.hpp>

#include <string>
#include <vector>

namespace herald::detail {

/// @throws ConfigError when a target's topic is empty.
inline std::vector<QueueBinding> listen_bindings(const std::vector<Target>& targets,
                                                 const std::vector<Priority>& priorities, const std::string& pool,
                                                 const std::string& control_exchange,
                                                 const std::string& broadcast_queue = {}) {
  std::vector<QueueBinding> bindings;
  bindings.reserve(targets.size() * priorities.size());
  for (const Target& target : targets) {
    if (target.topic.empty()) throw ConfigError("targets: topic must not be empty");
    const std::string& exchange = target.exchange.empty() ? control_exchange : target.exchange;
    for (Priority p : priorities) {
      std::string routing_key = target.topic + "." + std::string(to_string(p));
      if (!broadcast_queue.empty())
        bindings.push_back({broadcast_queue, exchange, routing_key, true});
      else
        bindings.push_back({pool.empty() ? routing_key : pool, exchange, routing_key});
    }
  }
  return bindings;
}

}  // namespace herald::detail
