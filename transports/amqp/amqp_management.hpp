#pragma once
// Declarations over AMQP 1.0 management (RabbitMQ 4 and later): HTTP-like requests sent to the
// broker's `/management` node through a pair of links on the driver's own connection, so no
// management plugin and no second connection are needed. ManagementChannel hands requests
// from the declaring thread to the I/O thread and answers back; AmqpManagementSink speaks
// Topology's vocabulary over it; BrokerAwareSink picks HTTP (3.x) or AMQP (4.x) per broker.

#include "transports/amqp/topology_sink.hpp"

#include <herald/error.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

namespace proton {
class message;
}

namespace herald::detail {

/// One request to the management node. `body` is an AMQP map (key -> bool, string or long;
/// "arguments" -> map), or empty for none.
struct ManagementRequest {
  std::uint64_t id = 0;
  std::string method;  ///< PUT, POST, GET, DELETE
  std::string path;    ///< e.g. /queues/<percent-encoded name>
  std::map<std::string, std::variant<bool, std::string, QueueArguments>> body;
};

struct ManagementResponse {
  bool answered = false;
  std::string status;  ///< "200", "201", "204", "400", "409", ...
  std::string text;    ///< the broker's explanation on failure
  std::string error;   ///< why there is no answer (answered == false)
  bool ok() const { return answered && !status.empty() && (status[0] == '2' || status[0] == '3'); }
};

/// **Thread safety:** thread-safe. request() blocks its caller (the declaring thread, never
/// the I/O thread); the take/answer/fail members are the I/O thread's side.
class ManagementChannel {
 public:
  ManagementChannel() = default;
  ManagementChannel(const ManagementChannel&) = delete;
  ManagementChannel& operator=(const ManagementChannel&) = delete;

  /// Called whenever a request is queued; returns false when the I/O thread is gone.
  void set_wake(std::function<bool()> wake);
  /// The broker's kind, once a connection opened: true = RabbitMQ 4 or later (v2 addresses,
  /// AMQP management). Waits up to `timeout` (less when the broker refused the credentials);
  /// nullopt when no connection opened by then.
  std::optional<bool> wait_broker(std::chrono::milliseconds timeout);
  struct Failure {
    std::optional<Errc> refused;  ///< unauthorized or tls_failed: retrying soon will not help
    std::string reason;
  };
  /// Why the last connection attempt failed (empty reason: none failed).
  Failure last_failure();
  ManagementResponse request(ManagementRequest request, std::chrono::milliseconds timeout);

  // I/O thread.
  void set_broker(bool v2);
  void set_failure(std::optional<Errc> refused, std::string reason);
  /// The oldest request not yet sent (it moves to the in-flight table), if any.
  std::optional<ManagementRequest> take_unsent();
  void answer(std::uint64_t id, ManagementResponse response);
  /// The connection or the link pair went away: requests on the wire fail with `why` (the
  /// declaration is retried by its owner); queued ones wait for the next link pair.
  void fail_in_flight(const std::string& why);
  /// The transport is closing: everything fails now, later requests fail at once.
  void close();

 private:
  struct Pending {
    ManagementRequest request;
    std::promise<ManagementResponse> promise;
  };
  std::mutex mutex_;
  std::condition_variable broker_known_;
  std::optional<bool> v2_;
  Failure failure_;
  std::function<bool()> wake_;
  bool closed_ = false;
  std::uint64_t next_id_ = 1;
  std::deque<std::shared_ptr<Pending>> unsent_;
  std::map<std::uint64_t, std::shared_ptr<Pending>> in_flight_;
};

/// Topology declarations as AMQP management requests (RabbitMQ 4.x).
/// **Thread safety:** as ManagementChannel::request (one declaring thread at a time is typical).
class AmqpManagementSink final : public TopologySink {
 public:
  AmqpManagementSink(std::shared_ptr<ManagementChannel> channel, std::chrono::milliseconds timeout);
  void declare_exchange(const std::string& name, const std::string& type, bool durable) override;
  void declare_queue(const std::string& name, const QueueSpec& spec) override;
  void bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key) override;
  bool supports_exclusive() const override { return true; }

 private:
  void call(ManagementRequest request, const std::string& what);
  std::shared_ptr<ManagementChannel> channel_;
  std::chrono::milliseconds timeout_;
};

/// Waits for the broker's kind (up to `timeout`), then declares through `http` (RabbitMQ 3.x)
/// or `amqp` (4.x). `forced`: the URL's address_format decided it (no waiting).
/// **Thread safety:** as its sinks.
class BrokerAwareSink final : public TopologySink {
 public:
  BrokerAwareSink(std::shared_ptr<ManagementChannel> channel, std::unique_ptr<TopologySink> http,
                  std::unique_ptr<TopologySink> amqp, std::optional<bool> forced_v2, std::chrono::milliseconds timeout);
  void declare_exchange(const std::string& name, const std::string& type, bool durable) override;
  void declare_queue(const std::string& name, const QueueSpec& spec) override;
  void bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key) override;
  bool supports_exclusive() const override;

 private:
  TopologySink& pick(const std::string& what) const;
  std::shared_ptr<ManagementChannel> channel_;
  std::unique_ptr<TopologySink> http_;
  std::unique_ptr<TopologySink> amqp_;
  std::optional<bool> forced_v2_;
  std::chrono::milliseconds timeout_;
};

/// RabbitMQ 4 (v2) form of a v1 address: `/exchange/X/RK` -> `/exchanges/X/RK`,
/// `/amq/queue/Q` -> `/queues/Q`, names percent-encoded. Anything else is returned unchanged.
std::string v2_address(const std::string& v1_address);

/// The request as the AMQP message RabbitMQ's management node expects (to = path, subject =
/// method, reply-to "$me", body an amqp-value map).
void encode_management_request(const ManagementRequest& request, proton::message& out);
/// The response's correlation id (0 when absent) and content.
std::uint64_t decode_management_response(const proton::message& message, ManagementResponse& out);

/// True when the AMQP open frame's properties name RabbitMQ 4 or later.
bool is_rabbitmq_v2(const std::string& product, const std::string& version);

}  // namespace herald::detail
