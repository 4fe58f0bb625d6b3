#pragma once
// The running part of `herald route`: a NotificationServer over the endpoints of a routes file,
// and reloads that replace it without losing a message.
//
// Reload = build the new endpoint set and a new server (a bad file, an unwritable path or a bad
// webhook URL fails here and the old set keeps running), start the new server on the same
// transport and queues, then stop the old one with a drain: it takes nothing new, finishes what
// it holds until the drain timeout, and releases the rest back to the queue, where the new
// server (already consuming) picks it up. Chosen over swapping an endpoint table inside one
// server because a reload may change what the server subscribes to (targets, pool, the
// priorities the endpoints handle), its workers and its redelivery limit, and because each
// endpoint keeps its own filter, name and handler-latency series in the server.

#include "tools/route/route_actions.hpp"
#include "tools/route/route_config.hpp"

#include <herald/notification_server.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::route {

/// One endpoint's counts, summed over every reload.
struct EndpointSummary {
  std::string name;
  std::string kind;
  ActionStats stats;
};

/// **Thread safety:** start(), reload(), stop(), stats(), endpoint_summaries(), config() and
/// reloads() may be called from any thread (reload, stop and collect are serialised). wait_for()
/// must not run concurrently with collect() or the destructor, which free retired servers:
/// call those three from one thread (herald route's main thread).
class RouteService {
 public:
  /// Builds the endpoints and the server (not started).
  /// @throws ConfigError when an endpoint cannot be set up or the server options are bad.
  RouteService(std::shared_ptr<ActionResources> resources, RouteConfig config, ServerOptions base_options);
  ~RouteService();
  RouteService(const RouteService&) = delete;
  RouteService& operator=(const RouteService&) = delete;

  /// Starts the server. @throws TransportError when the listener cannot be created.
  void start();
  /// Replaces the endpoint set (see the file comment). On any error the old set keeps running,
  /// the error is logged and false returned. Does not wait for the old server: it drains for
  /// up to `drain` in the background (collect() forgets it once it finished).
  bool reload(RouteConfig config, std::chrono::milliseconds drain);
  /// Folds the servers retired by reloads that have finished into the totals and frees them.
  void collect();
  /// Stops the current server with a drain (see NotificationServer::stop).
  void stop(std::chrono::milliseconds drain);
  /// True once the current server (and any retired one) finished.
  bool wait_for(std::chrono::milliseconds timeout);
  /// Server counters summed over every server this service ran.
  ServerStats stats() const;
  /// Per-endpoint counts, summed by endpoint name over every reload, in the order endpoints
  /// first appeared.
  std::vector<EndpointSummary> endpoint_summaries() const;
  /// The config of the running endpoint set.
  RouteConfig config() const;
  /// How many reloads succeeded.
  std::uint64_t reloads() const;

 private:
  struct Generation;
  std::unique_ptr<Generation> build(RouteConfig config);
  void retire(std::unique_ptr<Generation> generation);

  std::shared_ptr<ActionResources> resources_;
  ServerOptions base_options_;
  std::mutex lifecycle_;  // reload / stop / start
  mutable std::mutex state_;
  std::unique_ptr<Generation> current_;
  std::vector<std::unique_ptr<Generation>> retiring_;  // stopped, maybe still draining
  ServerStats retired_stats_;
  std::vector<EndpointSummary> retired_endpoints_;
  std::uint64_t reloads_ = 0;
};

}  // namespace herald::route
