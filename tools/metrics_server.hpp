#pragma once
// A small HTTP server for the CLI's long-running commands: /metrics (Prometheus text),
// /healthz (the process is alive) and /readyz (200 when the readiness check passes, else 503
// with the reason). One thread, Boost.Beast, Connection: close.

#include <herald/metrics.hpp>
#include <herald/transport.hpp>

#include <functional>
#include <memory>
#include <string>

namespace herald::cli {

/// What /readyz answers.
struct Readiness {
  bool ready = false;
  std::string reason;  ///< why not ready (shown in the 503 body); empty when ready
};

/// Ready when the transport is connected with every link attached and not blocked
/// (TransportState::connected); otherwise the state and its reason.
Readiness readiness_of(const Transport& transport);

/// **Thread safety:** the readiness check runs on the server's thread; it must be thread-safe.
class MetricsServer {
 public:
  /// Listens on `address` ("host:port", "[::1]:port" or ":port" for every interface; port 0
  /// picks a free one) and serves on its own thread until destroyed.
  /// @throws std::runtime_error when the address is bad or cannot be bound.
  MetricsServer(const std::string& address, std::shared_ptr<Metrics> metrics, std::function<Readiness()> readiness);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The bound port (useful with port 0).
  unsigned short port() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::cli
