#include "drivers/amqp/topology.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <functional>

namespace herald::detail {

std::vector<ManagementEndpoint> management_endpoints(const AmqpOptions& options) {
  std::vector<ManagementEndpoint> endpoints;
  // The management port is relative to the first host's AMQP port; every host uses the
  // same offset (docs/amqp.md).
  int offset = static_cast<int>(options.management_port) - static_cast<int>(options.hosts.front().port);
  for (const AmqpHost& host : options.hosts) {
    int port = static_cast<int>(host.port) + offset;
    if (port <= 0 || port > 65535) port = options.management_port;
    endpoints.push_back({host.hostname, static_cast<std::uint16_t>(port),
                         host.username.empty() ? "guest" : host.username,
                         host.username.empty() ? "guest" : host.password});
  }
  return endpoints;
}

Topology::Topology(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger,
                   std::unique_ptr<TopologySink> sink)
    : enabled_(options.topology == TopologyMode::management),
      durable_(options.durable_queues),
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
  sink_->declare_queue(dead_letter_queue_, durable_, {});
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
    std::map<std::string, std::string> arguments;
    if (!dead_letter_exchange_.empty()) arguments["x-dead-letter-exchange"] = dead_letter_exchange_;
    sink_->declare_queue(binding.queue, durable_, arguments);
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
    Errc code = Errc::transport_error;
    if (e.code().category() == error_category()) code = static_cast<Errc>(e.code().value());
    return {code, e.what()};
  }
}

}  // namespace

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
