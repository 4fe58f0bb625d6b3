#pragma once
/// @file transport.hpp

#include <herald/metrics.hpp>
#include <herald/transport_url.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace herald {

namespace detail {
class TransportDriver;
}

/// What a transport can do right now.
enum class TransportState {
  connecting,  ///< not (yet, or no longer) connected; sends wait, nothing is lost
  connected,   ///< connected, every link attached, every declaration done
  degraded,    ///< connected, but a link or a declaration is failing or the send window is full
  failed,      ///< a condition that needs an operator (e.g. authentication refused); retried slowly
};

/// The state with the reason it is not `connected` (empty when it is).
struct TransportStatus {
  TransportState state = TransportState::connecting;
  std::string reason;
};

/// "connecting", "connected", "degraded" or "failed".
std::string_view to_string(TransportState state) noexcept;

/// Options common to every transport. Transport-specific options come from the URL query
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
  /// Called on every change of status() (from the transport's I/O thread: keep it short and
  /// never call back into the transport from it). Optional.
  std::function<void(const TransportStatus&)> on_status_change;
  /// Where herald_transport_state and herald_transport_reconnects_total are kept; optional
  /// (see Metrics). Notifiers and servers on this transport use it too unless their own
  /// options name another handle.
  std::shared_ptr<Metrics> metrics;
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

  /// The current state (memory:// is always connected). Thread-safe.
  TransportStatus status() const;

  /// The driver (internal interface, not part of the stable API).
  detail::TransportDriver& driver() noexcept { return *driver_; }

 private:
  Transport(TransportUrl url, TransportOptions options);
  TransportUrl url_;
  TransportOptions options_;
  std::unique_ptr<detail::TransportDriver> driver_;
};

}  // namespace herald
