#include "metrics/instruments.hpp"
#include "transports/driver_factories.hpp"

#include <herald/error.hpp>
#include <herald/transport.hpp>

namespace herald {

std::shared_ptr<Transport> Transport::open(std::string_view url, TransportOptions options) {
  if (options.control_exchange.empty()) throw ConfigError("control_exchange: must not be empty");
  if (options.send_timeout.count() < 0) throw ConfigError("send_timeout: must not be negative");
  // make_shared cannot reach the private constructor.
  std::shared_ptr<Transport> transport(new Transport(TransportUrl::parse(url), std::move(options)));
  return transport;
}

Transport::Transport(TransportUrl url, TransportOptions options) : url_(std::move(url)), options_(std::move(options)) {
  std::shared_ptr<detail::TransportInstruments> instruments;
  if (options_.metrics) {
    // The state gauge follows the driver's status changes; the application's callback, if
    // any, still runs after it. Installed before the driver exists, which captures it.
    instruments = std::make_shared<detail::TransportInstruments>(options_.metrics);
    options_.on_status_change = [instruments, user = std::move(options_.on_status_change)](const TransportStatus& s) {
      instruments->state_changed(s.state);
      if (user) user(s);
    };
  }
  if (url_.scheme() == "memory")
    driver_ = detail::make_memory_driver(url_, options_);
  else
    driver_ = detail::make_amqp_driver(url_, options_);
  if (instruments) instruments->initial_state(driver_->status().state);
}

Transport::~Transport() = default;

TransportStatus Transport::status() const { return driver_->status(); }

std::string_view to_string(TransportState state) noexcept {
  switch (state) {
    case TransportState::connecting:
      return "connecting";
    case TransportState::connected:
      return "connected";
    case TransportState::degraded:
      return "degraded";
    case TransportState::failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace herald

#ifndef HERALD_HAVE_AMQP
#include <herald/topology.hpp>
namespace herald {
namespace detail {
std::unique_ptr<TransportDriver> make_amqp_driver(const TransportUrl& url, const TransportOptions&) {
  throw ConfigError("transport_url: scheme '" + url.scheme() + "' needs Herald built with HERALD_BUILD_AMQP=ON");
}
}  // namespace detail
std::string topology_definitions(std::string_view, const TopologySpec&) {
  throw ConfigError("topology export needs Herald built with HERALD_BUILD_AMQP=ON");
}
}  // namespace herald
#endif
