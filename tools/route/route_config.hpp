#pragma once
// The configuration of `herald route`: a YAML file of targets, server settings and endpoints,
// each endpoint with oslo-style filter rules and exactly one action (file, webhook, republish,
// log). Parsing is pure (no I/O beyond reading the file): every error names the file, the line
// and the field, e.g. "routes.yaml:14: endpoints[1].file.max_bytes: expected a positive integer".
// The format is documented in docs/operations.md ("herald route").

#include <herald/filter.hpp>
#include <herald/priority.hpp>
#include <herald/target.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace herald::route {

/// `file:` append one JSON line per notification (the `herald listen --format jsonl` line),
/// rotating by size.
struct FileAction {
  std::string path;
  std::uint64_t max_bytes = 100ull * 1024 * 1024;  ///< rotate before a line would pass this size
  unsigned keep = 5;                               ///< rotated files kept: path.1 (newest) … path.N
};

/// `webhook:` POST the JSON line to a plain-http URL; non-2xx or a timeout → requeue.
struct WebhookAction {
  std::string url;  ///< http://host[:port]/path (https is not supported)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds timeout{10000};  ///< whole request, connect included
};

/// `republish:` send a copy through a Notifier to `<topic>.<priority>` on `exchange`, confirmed
/// before the original is acked.
struct RepublishAction {
  std::string topic;
  std::string exchange;                      ///< empty: the transport's control exchange
  std::optional<Priority> priority;          ///< empty: the notification's own priority
  std::chrono::milliseconds timeout{10000};  ///< confirmation wait; past it → requeue
};

/// `log:` one log line per notification (ids, priority, event type; never the payload).
struct LogAction {
  std::string level = "info";  ///< debug, info, warning or error
};

using Action = std::variant<FileAction, WebhookAction, RepublishAction, LogAction>;

/// One endpoint of the service.
struct EndpointConfig {
  std::string name;
  int line = 0;  ///< where it starts in the file (1-based)
  std::vector<Priority> priorities;
  Filter filter;
  Action action;
};

/// A whole routes file.
/// **Thread safety:** a value type.
struct RouteConfig {
  std::string source;         ///< the file it came from (for messages)
  std::string transport_url;  ///< empty: --url / --config-file / memory://
  int transport_url_line = 0;
  std::vector<Target> targets{Target{}};
  std::string pool;
  std::size_t workers = 4;
  bool allow_requeue = true;
  std::uint32_t max_redeliveries = 5;
  std::size_t credit_window = 0;  ///< 0: the oslo config / default
  std::vector<EndpointConfig> endpoints;

  /// Every priority some endpoint handles, in oslo order.
  std::vector<Priority> priorities() const;
};

/// Parses YAML text; `source` names it in errors.
/// @throws ConfigError "<source>:<line>: <field>: <problem>" on the first problem.
RouteConfig parse_route_config(std::string_view yaml, const std::string& source);
/// Reads and parses a file. @throws ConfigError (also when it cannot be read).
RouteConfig load_route_config(const std::string& path);

}  // namespace herald::route
