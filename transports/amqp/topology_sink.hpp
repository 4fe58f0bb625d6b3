#pragma once
// What Topology declares, independent of where it goes: RabbitMQ's management HTTP API
// (3.x), AMQP 1.0 management on the connection (4.x), or a definitions file.

#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace herald::detail {

/// A queue or exchange argument: RabbitMQ reads x-max-length, x-delivery-limit, x-expires as
/// integers and x-queue-type, x-overflow, x-dead-letter-* as strings.
using QueueArgument = std::variant<std::string, std::int64_t>;
using QueueArguments = std::map<std::string, QueueArgument>;

struct QueueSpec {
  bool durable = false;
  bool exclusive = false;    ///< owned by the declaring connection (AMQP 1.0 management only)
  bool auto_delete = false;  ///< deleted when its last consumer goes
  QueueArguments arguments;
  bool operator==(const QueueSpec&) const = default;
};

/// Where topology declarations go. Implementations throw TransportError: Errc::unauthorized,
/// Errc::unreachable (nobody answered: retry), Errc::precondition_failed (the object exists with
/// other flags or arguments), Errc::transport_error (any other refusal), naming the object.
class TopologySink {
 public:
  virtual ~TopologySink() = default;
  virtual void declare_exchange(const std::string& name, const std::string& type, bool durable) = 0;
  virtual void declare_queue(const std::string& name, const QueueSpec& spec) = 0;
  virtual void bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key) = 0;
  /// True when the sink can declare exclusive queues (a connection-bound declaration).
  virtual bool supports_exclusive() const { return false; }
};

/// Why the broker refused a declaration, as one line naming the object, the broker's reason,
/// and what to change where Herald knows it (RabbitMQ 4's denied deprecated features).
std::string explain_refusal(const std::string& what, const std::string& broker_text);

/// True when the broker's text reports a mismatch with an existing object.
bool is_inequivalent(const std::string& broker_text);

}  // namespace herald::detail
