#include "transports/amqp/topology.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <functional>

namespace herald::detail {

std::vector<ManagementEndpoint> management_endpoints(const AmqpOptions& options) {
  std::vector<ManagementEndpoint> endpoints;
  // The management port is relative to the first host's AMQP port; every host uses the
  // same offset (docs/amqp.md).
  // No management port (the first AMQP port + 10000 is over 65535): none for any host either;
  // management_call() then says to set it.
  int offset = static_cast<int>(options.management_port) - static_cast<int>(options.hosts.front().port);
  for (const AmqpHost& host : options.hosts) {
    int port = options.management_port == 0 ? 0 : static_cast<int>(host.port) + offset;
    if (port <= 0 || port > 65535) port = options.management_port;
    ManagementEndpoint& endpoint = endpoints.emplace_back();
    endpoint.host = host.hostname;
    endpoint.port = static_cast<std::uint16_t>(port);
    endpoint.username = host.username.empty() ? "guest" : host.username;
    endpoint.password = host.username.empty() ? "guest" : host.password;
    // amqps:// means HTTPS for the management API too, with the same trust and certificate.
    endpoint.tls = {options.tls, options.ssl_ca_file, options.ssl_cert_file, options.ssl_key_file, options.ssl_verify};
  }
  return endpoints;
}

QueueSpec dead_letter_queue_spec(const AmqpOptions& options) {
  QueueSpec spec;
  spec.durable = options.durable_queues || options.quorum_queues;
  if (options.quorum_queues) spec.arguments["x-queue-type"] = std::string("quorum");
  return spec;
}

QueueSpec notification_queue_spec(const AmqpOptions& options) {
  QueueSpec spec = dead_letter_queue_spec(options);
  if (options.quorum_queues) {
    if (options.quorum_delivery_limit > 0) spec.arguments["x-delivery-limit"] = options.quorum_delivery_limit;
    if (options.quorum_max_memory_length > 0)
      spec.arguments["x-max-in-memory-length"] = options.quorum_max_memory_length;
    if (options.quorum_max_memory_bytes > 0) spec.arguments["x-max-in-memory-bytes"] = options.quorum_max_memory_bytes;
  }
  if (options.max_length > 0) spec.arguments["x-max-length"] = options.max_length;
  if (options.max_length_bytes > 0) spec.arguments["x-max-length-bytes"] = options.max_length_bytes;
  if (!options.overflow_behaviour.empty()) spec.arguments["x-overflow"] = options.overflow_behaviour;
  if (!options.dead_letter_exchange.empty()) {
    spec.arguments["x-dead-letter-exchange"] = options.dead_letter_exchange;
    if (options.quorum_queues) {
      // At-most-once dead-lettering would lose what the broker dead-letters during a leader
      // change; at-least-once requires overflow=reject-publish.
      spec.arguments["x-dead-letter-strategy"] = std::string("at-least-once");
      spec.arguments["x-overflow"] = std::string("reject-publish");
    }
  }
  return spec;
}

std::unique_ptr<TopologySink> broker_topology_sink(const AmqpOptions& options,
                                                   std::shared_ptr<ManagementChannel> channel) {
  std::optional<bool> forced;
  if (options.address_format == AddressFormat::v1) forced = false;
  if (options.address_format == AddressFormat::v2) forced = true;
  return std::make_unique<BrokerAwareSink>(
      channel,
      std::make_unique<ManagementClient>(management_endpoints(options), options.virtual_host, options.declare_timeout),
      std::make_unique<AmqpManagementSink>(channel, options.declare_timeout), forced, options.declare_timeout);
}

Topology::Topology(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger,
                   std::unique_ptr<TopologySink> sink)
    : enabled_(options.topology == TopologyMode::management),
      durable_(options.durable_queues || options.quorum_queues),
      queue_spec_(notification_queue_spec(options)),
      dead_letter_spec_(dead_letter_queue_spec(options)),
      transient_queues_ttl_(options.transient_queues_ttl),
      dead_letter_exchange_(options.dead_letter_exchange),
      dead_letter_queue_(options.dead_letter_queue),
      logger_(std::move(logger)),
      sink_(sink ? std::move(sink)
                 : std::make_unique<ManagementClient>(management_endpoints(options), options.virtual_host,
                                                      options.declare_timeout)) {}

void Topology::declare_dead_letter_locked() {
  if (dead_letter_exchange_.empty() || dead_letter_declared_) return;
  // fanout: dead-lettered messages keep their routing key, which no binding could predict.
  sink_->declare_exchange(dead_letter_exchange_, "fanout", durable_);
  sink_->declare_queue(dead_letter_queue_, dead_letter_spec_);
  sink_->bind_queue(dead_letter_exchange_, dead_letter_queue_, "");
  dead_letter_declared_ = true;
}

void Topology::declare_binding_locked(const QueueBinding& binding, bool force) {
  if (force) {
    dead_letter_declared_ = false;
    exchanges_.erase(binding.exchange);
    queues_.erase(binding.queue);
    bindings_.erase(std::make_tuple(binding.exchange, binding.queue, binding.routing_key));
  }
  // No exchange and no routing key: consume an existing queue (e.g. `herald dlq replay`).
  if (binding.exchange.empty() && binding.routing_key.empty()) return;
  declare_dead_letter_locked();
  // Consuming the dead-letter queue itself: it is already declared, with its own flags.
  if (!dead_letter_exchange_.empty() && binding.queue == dead_letter_queue_) return;
  if (!exchanges_.contains(binding.exchange)) {
    sink_->declare_exchange(binding.exchange, "topic", durable_);
    exchanges_.insert(binding.exchange);
  }
  if (!queues_.contains(binding.queue)) {
    sink_->declare_queue(binding.queue, binding.broadcast ? broadcast_spec() : queue_spec_);
    queues_.insert(binding.queue);
  }
  auto key = std::make_tuple(binding.exchange, binding.queue, binding.routing_key);
  if (!bindings_.contains(key)) {
    sink_->bind_queue(binding.exchange, binding.queue, binding.routing_key);
    bindings_.insert(key);
  }
}

namespace {

DeclareResult result_of(const std::function<void()>& declare) {
  try {
    declare();
    return {};
  } catch (const Error& e) {
    return {e.errc(), e.what()};
  }
}

}  // namespace

// A broadcast listener's own queue: deleted when its consumer goes (auto-delete), exclusive
// to the connection where the sink can declare that (AMQP management, RabbitMQ 4); elsewhere
// it also expires after rabbit_transient_queues_ttl unused, as oslo's fanout queues (a
// listener that never attached). Always a classic queue.
QueueSpec Topology::broadcast_spec() const {
  QueueSpec spec;
  spec.auto_delete = true;
  if (sink_->supports_exclusive()) {
    spec.exclusive = true;
  } else {
    spec.durable = durable_;
    spec.arguments["x-expires"] = static_cast<std::int64_t>(transient_queues_ttl_.count());
  }
  if (!dead_letter_exchange_.empty()) spec.arguments["x-dead-letter-exchange"] = dead_letter_exchange_;
  return spec;
}

DeclareResult Topology::declare_address(const std::string& exchange, const std::string& routing_key) {
  if (!enabled_) return {};
  std::lock_guard lock(mutex_);
  return result_of([&] { declare_binding_locked({routing_key, exchange, routing_key}, true); });
}

DeclareResult Topology::redeclare_for_listen(const std::vector<QueueBinding>& bindings) {
  if (!enabled_) return {};
  std::lock_guard lock(mutex_);
  return result_of([&] {
    for (const QueueBinding& binding : bindings) declare_binding_locked(binding, true);
  });
}

void Topology::declare_for_listen(const std::vector<QueueBinding>& bindings) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  for (const QueueBinding& binding : bindings) declare_binding_locked(binding, false);
}

}  // namespace herald::detail
