#pragma once
// Declares what oslo's rabbit driver declares (topic exchange, `<topic>.<priority>` queues,
// bindings): through the management HTTP API on RabbitMQ 3.x, AMQP 1.0 management on 4.x.

#include "transports/amqp/amqp_management.hpp"
#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/link_machine.hpp"
#include "transports/amqp/management_client.hpp"
#include "transports/transport_driver.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace herald::detail {

/// The management API endpoint of every host of the failover list (management_port is
/// relative to the first host's AMQP port). Also used by `herald dlq`.
std::vector<ManagementEndpoint> management_endpoints(const AmqpOptions& options);

/// The queue flags and arguments the options ask for (oslo's rules: quorum queues are durable;
/// dead-lettering on a quorum queue is at-least-once, which needs overflow=reject-publish).
QueueSpec notification_queue_spec(const AmqpOptions& options);
/// The dead-letter queue's: as durable as the others, the same type, no dead-lettering.
QueueSpec dead_letter_queue_spec(const AmqpOptions& options);

/// The sink of a live driver: management HTTP on RabbitMQ 3.x, AMQP management over
/// `channel` on 4.x, chosen per the broker's open frame unless `address_format` forces one.
std::unique_ptr<TopologySink> broker_topology_sink(const AmqpOptions& options,
                                                   std::shared_ptr<ManagementChannel> channel);

/// **Thread safety:** thread-safe; declarations are serialised by one mutex (they are rare).
class Topology {
 public:
  /// Declares through `sink`; null = the management HTTP API of the URL's hosts.
  Topology(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger,
           std::unique_ptr<TopologySink> sink = nullptr);

  bool enabled() const noexcept { return enabled_; }

  /// What oslo's notifier declares on send: the exchange, the queue named like the routing
  /// key, and their binding. Always asks the broker (declarations are idempotent), so it also
  /// serves as the periodic check that repairs a deleted queue. Blocking, with the enforced
  /// `declare_timeout`: call it off the caller's thread (AmqpConnection's declarer does).
  DeclareResult declare_address(const std::string& exchange, const std::string& routing_key);

  /// Every queue and binding of a listener. @throws TransportError on failure.
  void declare_for_listen(const std::vector<QueueBinding>& bindings);

  /// declare_for_listen() again, as a result (a consumer's queue disappeared).
  DeclareResult redeclare_for_listen(const std::vector<QueueBinding>& bindings);

 private:
  void declare_binding_locked(const QueueBinding& binding, bool force);
  void declare_dead_letter_locked();
  QueueSpec broadcast_spec() const;

  bool enabled_;
  bool durable_;  // exchanges: amqp_durable_queues or rabbit_quorum_queue, as oslo
  QueueSpec queue_spec_;
  QueueSpec dead_letter_spec_;
  std::chrono::milliseconds transient_queues_ttl_;
  std::string dead_letter_exchange_;
  std::string dead_letter_queue_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<TopologySink> sink_;

  std::mutex mutex_;
  std::set<std::string> exchanges_;
  std::set<std::string> queues_;
  std::set<std::tuple<std::string, std::string, std::string>> bindings_;
  bool dead_letter_declared_ = false;
};

}  // namespace herald::detail
