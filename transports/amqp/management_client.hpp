#pragma once
// A minimal synchronous client of the RabbitMQ management HTTP API (Boost.Beast), used to
// declare what AMQP 1.0 cannot on RabbitMQ 3.x: exchanges, named queues and bindings.

#include "transports/amqp/management_http.hpp"
#include "transports/amqp/topology_sink.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace herald::detail {

/// Declarations over HTTP. Each call tries the endpoints in order until one answers.
/// @throws TransportError (Errc::unauthorized for 401, Errc::unreachable when no endpoint
/// answers, Errc::transport_error for a refusal such as 400 inequivalent arg) naming the object.
/// **Thread safety:** stateless apart from its configuration; calls may run concurrently.
class ManagementClient final : public TopologySink {
 public:
  ManagementClient(std::vector<ManagementEndpoint> endpoints, std::string vhost, std::chrono::milliseconds timeout);

  void declare_exchange(const std::string& name, const std::string& type, bool durable) override;
  void declare_queue(const std::string& name, const QueueSpec& spec) override;
  void bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key) override;

 private:
  void request(const char* method, const std::string& target, const std::string& body, const std::string& what);
  std::vector<ManagementEndpoint> endpoints_;
  std::string vhost_;
  std::chrono::milliseconds timeout_;
};

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
std::string percent_encode_segment(const std::string& text);

}  // namespace herald::detail
