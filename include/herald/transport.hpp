#pragma once
/// @file transport.hpp

#include <herald/transport_url.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace herald {

namespace detail {
class Driver;
}

/// Options common to every transport. Driver-specific options come from the URL query
/// (see docs/operations.md).
struct TransportOptions {
  /// Exchange used when a Target names none (oslo's `control_exchange`).
  std::string control_exchange = "openstack";
  /// How long a send may block when the transport's bounded queue or in-flight window is full
  /// before it is reported failed with Errc::overflow or Errc::timeout.
  std::chrono::milliseconds send_timeout{10'000};
  /// Logger for transport events; when null a private stderr logger named "herald" is used.
  /// Herald never touches spdlog's default logger or registry.
  std::shared_ptr<spdlog::logger> logger;
};

/// A connection to a message bus, shared by notifiers and servers.
///
/// `memory://` opens a new in-process broker owned by this object (two `open("memory://")`
/// calls give two independent brokers; share the Transport to share the broker).
/// `amqp://` / `amqps://` connect to RabbitMQ over AMQP 1.0.
///
/// **Thread safety:** thread-safe; share it through the returned shared_ptr.
class Transport {
 public:
  /// Opens a transport.
  /// @throws ConfigError for a bad URL or option (the message names it).
  static std::shared_ptr<Transport> open(std::string_view url, TransportOptions options = {});

  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// The parsed URL (print it with `url().to_string()`, which masks passwords).
  const TransportUrl& url() const noexcept { return url_; }
  const TransportOptions& options() const noexcept { return options_; }

  /// The driver (internal interface, not part of the stable API).
  detail::Driver& driver() noexcept { return *driver_; }

 private:
  Transport(TransportUrl url, TransportOptions options);
  TransportUrl url_;
  TransportOptions options_;
  std::unique_ptr<detail::Driver> driver_;
};

}  // namespace herald
