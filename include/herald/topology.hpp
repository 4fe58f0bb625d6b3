#pragma once
/// @file topology.hpp

#include <herald/priority.hpp>
#include <herald/target.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace herald {

/// What a topology export covers: the listeners' view (targets × priorities, optional pool).
struct TopologySpec {
  std::vector<Target> targets = {Target{}};
  std::vector<Priority> priorities{kAllPriorities.begin(), kAllPriorities.end()};
  /// Pool name; empty = the shared `<topic>.<priority>` queues.
  std::string pool;
  /// Exchange for targets that name none.
  std::string control_exchange = "openstack";
};

/// A RabbitMQ definitions document (JSON, for `rabbitmqctl import_definitions`) declaring
/// exactly what Herald's amqp:// transport declares through the management API for `url`'s
/// options (`amqp_durable_queues`, `dead_letter_exchange`, `dead_letter_queue`) and `spec`:
/// the topic exchanges, the queues (`<topic>.<priority>`, or the pool's), their bindings, and
/// the dead-letter exchange and queue when configured. Use it with `topology=none`.
/// @throws ConfigError for a bad URL or option.
/// **Thread safety:** pure function.
std::string topology_definitions(std::string_view url, const TopologySpec& spec);

}  // namespace herald
