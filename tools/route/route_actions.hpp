#pragma once
// The actions of `herald route` endpoints and how a RouteConfig becomes NotificationServer
// endpoints. Each action decides per notification: delivered (the server acks) or not (the
// server requeues it, up to its redelivery limit, then dead-letters it).

#include "tools/route/rotating_file.hpp"
#include "tools/route/route_config.hpp"
#include "tools/route/webhook_client.hpp"

#include <herald/endpoint.hpp>
#include <herald/notifier.hpp>
#include <herald/transport.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::route {

/// Counts of one endpoint's action.
struct ActionStats {
  std::uint64_t delivered = 0;  ///< written, posted, confirmed or logged
  std::uint64_t failed = 0;     ///< not delivered: handed back to the server as Result::requeue
};

/// One endpoint's action. handle() is what the server calls.
/// **Thread safety:** handle() and stats() may be called from any number of worker threads.
class RouteAction {
 public:
  RouteAction(std::string endpoint, std::shared_ptr<spdlog::logger> logger);
  virtual ~RouteAction();
  RouteAction(const RouteAction&) = delete;
  RouteAction& operator=(const RouteAction&) = delete;

  /// Runs the action; counts; logs a failure (one warning line, never the payload). Never
  /// throws. @return handled when delivered, requeue otherwise.
  Result handle(const Notification& notification);
  ActionStats stats() const noexcept;
  const std::string& endpoint() const noexcept { return endpoint_; }
  /// "file", "webhook", "republish" or "log".
  virtual const char* kind() const noexcept = 0;

 protected:
  /// Delivers; returns false (and says why in `error`) or throws when it could not.
  virtual bool deliver(const Notification& notification, std::string& error) = 0;

 private:
  std::string endpoint_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
};

/// What actions share across endpoints and across reloads: the transport, open files (two
/// endpoints, or the old and the new endpoint set during a reload, writing the same path share
/// one RotatingFile), transports for other exchanges, loggers.
/// **Thread safety:** thread-safe.
class ActionResources {
 public:
  /// @param logger         failures and service events
  /// @param action_logger  where `log` actions write (its level should let info through)
  /// @param url            what `transport` was opened with (unmasked: other exchanges get
  ///                       their own connection to it)
  ActionResources(std::shared_ptr<Transport> transport, std::string url, std::shared_ptr<spdlog::logger> logger,
                  std::shared_ptr<spdlog::logger> action_logger);

  const std::shared_ptr<Transport>& transport() const noexcept { return transport_; }
  const std::shared_ptr<spdlog::logger>& logger() const noexcept { return logger_; }
  const std::shared_ptr<spdlog::logger>& action_logger() const noexcept { return action_logger_; }
  /// The file at `path`, opened once; later calls update its limits.
  /// @throws std::system_error when it cannot be opened.
  std::shared_ptr<RotatingFile> file(const std::string& path, std::uint64_t max_bytes, unsigned keep);
  /// A transport whose control exchange is `exchange` (the main one when empty or equal;
  /// otherwise a second connection to the same URL, opened once).
  std::shared_ptr<Transport> transport_for_exchange(const std::string& exchange);

 private:
  std::shared_ptr<Transport> transport_;
  std::string url_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::logger> action_logger_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RotatingFile>> files_;
  std::map<std::string, std::shared_ptr<Transport>> exchanges_;
};

/// Builds the action of one endpoint. `workers` bounds concurrent republish sends.
/// @throws ConfigError naming the endpoint (its line in the file) when the action cannot be
///         set up (file not writable, bad webhook URL...).
std::shared_ptr<RouteAction> make_action(const EndpointConfig& endpoint, const std::string& source,
                                         ActionResources& resources, std::size_t workers);

/// The endpoints of a routes file with their actions, ready for a NotificationServer.
struct EndpointSet {
  std::vector<Endpoint> endpoints;
  std::vector<std::shared_ptr<RouteAction>> actions;  ///< same order as the config's endpoints
};

/// Builds every endpoint (filters, priorities, actions). @throws ConfigError (see make_action).
EndpointSet build_endpoints(const RouteConfig& config, ActionResources& resources);

}  // namespace herald::route
