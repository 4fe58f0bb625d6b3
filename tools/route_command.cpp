// herald route: a filter-routing service. Endpoints from a YAML file (tools/route/), each with
// oslo-style filter rules and one action, on a NotificationServer; /metrics, /healthz, /readyz;
// drains on SIGINT/SIGTERM; reloads the routes file on SIGHUP. docs/operations.md, "herald route".
#include "cli_common.hpp"
#include "metrics_server.hpp"
#include "shutdown.hpp"
#include "tools/route/route_service.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

namespace herald::cli {
namespace {

struct RouteArgs {
  ConfigFlags config;
  std::string routes_path;
  std::string url;
  std::string exchange;
  bool verbose = false;
  std::string metrics_address;
  double shutdown_timeout_seconds = 10;
};

// What the service and its `log` actions say: info and up on stderr (the CLI's transport
// logger stays at warning unless --verbose).
std::shared_ptr<spdlog::logger> make_route_logger(bool verbose) {
  auto logger =
      std::make_shared<spdlog::logger>("herald route", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  return logger;
}

std::string describe(const route::RouteConfig& routes) {
  std::string text = std::to_string(routes.endpoints.size()) + " endpoint(s):";
  for (const auto& e : routes.endpoints) {
    static constexpr const char* kKinds[] = {"file", "webhook", "republish", "log"};
    text += " " + e.name + " (" + kKinds[e.action.index()] + ")";
  }
  text += "; targets:";
  for (const Target& t : routes.targets) text += " " + (t.exchange.empty() ? "" : t.exchange + "/") + t.topic;
  if (!routes.pool.empty()) text += "; pool " + routes.pool;
  text += "; " + std::to_string(routes.workers) + " worker(s)";
  return text;
}

void reload(route::RouteService& service, const std::string& path, std::chrono::milliseconds drain,
            spdlog::logger& log) {
  route::RouteConfig next;
  try {
    next = route::load_route_config(path);
  } catch (const std::exception& e) {
    log.error("reload of {} failed, the previous routes keep running: {}", path, e.what());
    return;
  }
  const route::RouteConfig running = service.config();
  if (next.transport_url != running.transport_url)
    log.warn("reload of {}: transport_url changes need a restart; the routes are reloaded on the current transport",
             path);
  const std::string text = describe(next);
  if (service.reload(std::move(next), drain)) log.info("reloaded {}: {}", path, text);
}

int run_route(RouteArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  auto route_logger = make_route_logger(args.verbose);
  const route::RouteConfig routes = route::load_route_config(args.routes_path);
  // The routes file's transport_url is the default; oslo config files, OS_* variables and
  // --url override it.
  args.config.set_default("DEFAULT", "transport_url",
                          routes.transport_url.empty() ? "memory://" : routes.transport_url);
  const Config config = args.config.load(logger);
  const ShutdownBudget budget = shutdown_budget(args.shutdown_timeout_seconds);

  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<int> reload_requests{0};
  StopSignals signals([&](int, int) { wake.notify_all(); },
                      [&] {
                        reload_requests.fetch_add(1);
                        wake.notify_all();
                      });
  std::atomic<bool> started{false};
  TransportOptions transport_options = config.transport_options();
  transport_options.logger = logger;
  if (!args.metrics_address.empty()) transport_options.metrics = Metrics::create();
  auto transport = open_transport(config, transport_options);
  auto resources =
      std::make_shared<route::ActionResources>(transport, config.transport_url, route_logger, route_logger);

  ServerOptions base = config.server_options();
  base.logger = logger;
  base.metrics = transport_options.metrics;
  route::RouteService service(resources, routes, base);
  std::optional<MetricsServer> http;
  if (transport_options.metrics)
    http.emplace(args.metrics_address, transport_options.metrics, [&]() -> Readiness {
      if (signals.requested()) return {false, "shutting down"};
      if (!started.load()) return {false, "starting: links not attached yet"};
      return readiness_of(*transport);
    });
  service.start();
  started.store(true);
  route_logger->info("routing from {} ({}): {}", transport->url().to_string(), args.routes_path, describe(routes));

  {
    ProgressLine progress("handled", [&service] { return service.stats().handled; });
    std::unique_lock lock(mutex);
    while (!signals.requested()) {
      wake.wait_for(lock, std::chrono::milliseconds(200));
      if (signals.requested()) break;
      if (reload_requests.exchange(0) > 0) {
        lock.unlock();
        reload(service, args.routes_path, budget.drain, *route_logger);
        lock.lock();
      }
      service.collect();
    }
  }

  // SIGINT/SIGTERM: stop taking work, drain with a deadline, summary, exit code (as listen).
  // Releases by reloads before the signal went back to the queue for the next routes: only what
  // this stop releases makes the exit incomplete.
  const std::uint64_t released_before_stop = service.stats().released;
  const DrainResult drained = drain_until_deadline(service, signals, budget);
  const ServerStats stats = service.stats();
  const std::string why = "stopped by " + signal_name(signals.first_signal());
  print_server_summary("herald route", why.c_str(), stats);
  for (const route::EndpointSummary& e : service.endpoint_summaries())
    std::fprintf(stderr, "herald route: endpoint %s (%s): %llu delivered, %llu failed\n", e.name.c_str(),
                 e.kind.c_str(), static_cast<unsigned long long>(e.stats.delivered),
                 static_cast<unsigned long long>(e.stats.failed));
  std::fprintf(stderr, "herald route: %llu reload(s)\n", static_cast<unsigned long long>(service.reloads()));
  const int code = signal_stop_exit_code(signals, drained.done, stats.released - released_before_stop);
  // As listen: if closing outlasts the deadline, exit anyway; the broker requeues what was
  // never settled.
  exit_at(drained.done ? drained.give_up_at : std::chrono::steady_clock::now(), code);
  return code;
}

}  // namespace

void add_route_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RouteArgs>();
  ConfigFlags& config = args->config;
  CLI::App* cmd = app.add_subcommand("route", "Route notifications by filter rules to files, webhooks, topics, logs");
  cmd->add_option("--config", args->routes_path, "Routes file (YAML; see docs/operations.md)")->required();
  config.add_to(cmd);
  auto as_is = [](const std::string& value) { return [&value] { return value; }; };
  config.override_with(
      cmd->add_option("--url", args->url, "Transport URL (overrides the routes file's transport_url and config files)"),
      "oslo_messaging_notifications", "transport_url", as_is(args->url));
  config.override_with(cmd->add_option("--exchange", args->exchange, "Control exchange (default openstack)"), "DEFAULT",
                       "control_exchange", as_is(args->exchange));
  cmd->add_flag("-v,--verbose", args->verbose, "Log transport events");
  cmd->add_option("--metrics-address", args->metrics_address,
                  "Serve /metrics, /healthz and /readyz on host:port (e.g. 127.0.0.1:9464)");
  cmd->add_option("--shutdown-timeout", args->shutdown_timeout_seconds,
                  "Seconds to drain after SIGINT/SIGTERM (and for the old routes after SIGHUP)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([args, &exit_code] { exit_code = run_route(*args); });
}

}  // namespace herald::cli
