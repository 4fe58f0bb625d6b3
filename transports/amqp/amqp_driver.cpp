// The amqp:// and amqps:// driver: AMQP 1.0 to RabbitMQ 3.10 and 4.x through Qpid Proton C++.
// Layout: amqp_options (URL query), topology (what to declare) through management_client
// (HTTP, RabbitMQ 3.x) or amqp_management (the /management node, RabbitMQ 4.x),
// link_machine (the sans-I/O lifecycle of the connection and links), amqp_connection (the
// Proton adapter on its container thread), amqp_listener (poll and settle).

#include "core/logging.hpp"
#include "transports/amqp/amqp_connection.hpp"
#include "transports/amqp/amqp_listener.hpp"
#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/topology.hpp"
#include "transports/driver_factories.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <thread>

namespace herald::detail {
namespace {

class AmqpDriver final : public TransportDriver {
 public:
  AmqpDriver(const TransportUrl& url, const TransportOptions& options)
      : options_(parse_amqp_options(url, options)),
        logger_(logger_or_default(options.logger)),
        management_(std::make_shared<ManagementChannel>()),
        topology_(std::make_shared<Topology>(options_, logger_, broker_topology_sink(options_, management_))),
        connection_(
            std::make_shared<AmqpConnection>(options_, logger_, topology_, management_, options.on_status_change)) {
    logger_->debug("amqp: transport {} opened", url.to_string());
  }

  ~AmqpDriver() override {
    if (connection_->on_io_thread()) {
      // The last reference went away inside a send callback: the I/O thread cannot join
      // itself, so another thread shuts the connection down once the callback returned.
      std::thread([connection = std::move(connection_)]() mutable { connection.reset(); }).detach();
      return;
    }
    connection_.reset();
  }

  void send(OutgoingMessage message, SendCallback done) override {
    if (message.exchange.empty() || message.routing_key.empty()) {
      if (done) done(make_error_code(Errc::invalid_argument), {});
      return;
    }
    std::string address = "/exchange/" + message.exchange + "/" + message.routing_key;
    connection_->send(std::move(address), std::move(message), std::move(done));
  }

  TransportStatus status() const override { return connection_->status(); }

  std::unique_ptr<Listener> listen(const ListenSpec& spec) override {
    if (spec.bindings.empty()) throw ArgumentError("listen: no queue bindings given");
    topology_->declare_for_listen(spec.bindings);
    std::size_t credit = options_.credit_window ? options_.credit_window : spec.credit_window;
    if (credit == 0) throw ConfigError("listen: credit_window must be positive");
    auto buffer = connection_->listen(spec.bindings, credit);
    // A listener that outlives its driver must not touch the connection (the driver's
    // shutdown already stopped it).
    std::weak_ptr<AmqpConnection> connection = connection_;
    AmqpListener::Links links{[connection](const auto& b) {
                                if (auto alive = connection.lock()) alive->pause_listener(b);
                              },
                              [connection](const auto& b) {
                                auto alive = connection.lock();
                                return alive ? alive->stop_listener(b) : std::size_t{0};
                              }};
    return std::make_unique<AmqpListener>(buffer, connection_->mailbox(), std::move(links));
  }

 private:
  AmqpOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<ManagementChannel> management_;
  std::shared_ptr<Topology> topology_;
  std::shared_ptr<AmqpConnection> connection_;
};

}  // namespace

std::unique_ptr<TransportDriver> make_amqp_driver(const TransportUrl& url, const TransportOptions& options) {
  return std::make_unique<AmqpDriver>(url, options);
}

}  // namespace herald::detail
