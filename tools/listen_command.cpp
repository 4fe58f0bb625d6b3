// herald listen: prints each notification handled, one JSON object per line; its counters at
// exit on stderr.
#include "cli_common.hpp"
#include "metrics_server.hpp"
#include "shutdown.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace herald::cli {
namespace {

struct ListenArgs {
  ConfigFlags config;
  std::string url;
  std::string topic;
  std::string priorities;
  std::string pool;
  bool broadcast = false;
  std::string publisher_id_regex;
  std::string event_type_regex;
  std::vector<std::string> context_rules;
  std::vector<std::string> metadata_rules;
  std::vector<std::string> payload_rules;
  std::size_t count = 0;
  double timeout_seconds = 0;
  std::string format = "jsonl";
  std::string color = "auto";
  std::string non_finite = "null";
  std::string exchange;
  bool verbose = false;
  std::string metrics_address;
  double shutdown_timeout_seconds = 10;
  unsigned handler_delay_ms = 0;  // testing: a slow handler
};

// "KEY=REGEX" rules of --context / --metadata / --payload.
void add_rules(Filter& filter, const std::vector<std::string>& rules, const char* flag,
               Filter& (Filter::*add)(std::string_view, std::string_view)) {
  for (const std::string& rule : rules) {
    const std::size_t eq = rule.find('=');
    if (eq == std::string::npos || eq == 0) throw CLI::ValidationError(flag, "expected KEY=REGEX, got '" + rule + "'");
    (filter.*add)(std::string_view(rule).substr(0, eq), std::string_view(rule).substr(eq + 1));
  }
}

// SIGINT/SIGTERM: stop taking work, drain with a deadline, summary, exit code (docs/operations.md).
// `count_unmet` says whether --count was asked for and not reached (exit code 4 when clean).
int drain_after_signal(NotificationServer& server, const StopSignals& signals, double shutdown_timeout_seconds,
                       const std::function<bool()>& count_unmet) {
  const DrainResult drained = drain_until_deadline(server, signals, shutdown_budget(shutdown_timeout_seconds));
  const ServerStats stats = server.stats();
  const std::string why = "stopped by " + signal_name(signals.first_signal());
  print_listen_summary(why.c_str(), stats);
  int code = signal_stop_exit_code(signals, drained.done, stats.released);
  if (code == kExitOk && count_unmet()) code = kExitInterruptedBeforeCount;
  // The server and the transport close when run_listen returns; if that (or a handler still
  // running) outlasts the deadline, the process exits anyway and the broker requeues every
  // delivery that was never settled.
  exit_at(drained.done ? drained.give_up_at : std::chrono::steady_clock::now(), code);
  return code;
}

int run_listen(const ListenArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  const Config config = args.config.load(logger);
  std::vector<Priority> priorities(kAllPriorities.begin(), kAllPriorities.end());
  if (!args.priorities.empty()) priorities = parse_priorities(args.priorities);
  Filter filter;
  if (!args.publisher_id_regex.empty()) filter.publisher_id(args.publisher_id_regex);
  if (!args.event_type_regex.empty()) filter.event_type(args.event_type_regex);
  add_rules(filter, args.context_rules, "--context", &Filter::context);
  add_rules(filter, args.metadata_rules, "--metadata", &Filter::metadata);
  add_rules(filter, args.payload_rules, "--payload", &Filter::payload);

  std::mutex mutex;
  std::condition_variable done_cv;
  std::size_t printed = 0;
  const bool pretty = args.format == "pretty";
  const bool colour = pretty && (args.color == "always" || (args.color == "auto" && is_terminal(1)));
  const NonFinite non_finite = args.non_finite == "python" ? NonFinite::python : NonFinite::null;
  Endpoint printer{"listen"};
  printer.filter(filter).on(std::span<const Priority>(priorities), [&](const Notification& n) {
    if (args.handler_delay_ms != 0) std::this_thread::sleep_for(std::chrono::milliseconds(args.handler_delay_ms));
    std::string text = notification_json(n, pretty, non_finite);
    if (colour)
      text = std::string(priority_colour(n.priority)) + "── " + std::string(to_string(n.priority)) + " " +
             n.event_type + "\033[0m\n" + colourise_json(text);
    std::lock_guard lock(mutex);
    // Past --count, hand the message back untouched for the next consumer.
    if (args.count != 0 && printed >= args.count) return Result::requeue;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (++printed == args.count) done_cv.notify_all();
    return Result::handled;
  });

  StopSignals signals;
  std::atomic<bool> started{false};
  TransportOptions transport_options = config.transport_options();
  transport_options.logger = logger;
  if (!args.metrics_address.empty()) transport_options.metrics = Metrics::create();
  auto transport = open_transport(config, transport_options);
  std::optional<MetricsServer> http;
  if (transport_options.metrics)
    http.emplace(args.metrics_address, transport_options.metrics, [&]() -> Readiness {
      if (signals.requested()) return {false, "shutting down"};
      if (!started.load()) return {false, "starting: links not attached yet"};
      return readiness_of(*transport);
    });
  ServerOptions options = config.server_options();
  options.workers = 1;  // keeps output in arrival order
  options.pool = args.pool;
  options.broadcast = args.broadcast;
  options.allow_requeue = true;
  options.max_redeliveries = 1'000'000;
  options.logger = logger;
  options.metrics = transport_options.metrics;
  std::vector<Target> targets;
  for (const std::string& topic : config.topics) targets.push_back(Target{topic, ""});
  NotificationServer server(transport, targets, {printer}, options);
  server.start();
  started.store(true);

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  bool timed_out = false;
  {
    ProgressLine progress("handled", [&server] { return server.stats().handled; });
    std::unique_lock lock(mutex);
    while (!(args.count != 0 && printed >= args.count) && !signals.requested()) {
      if (args.timeout_seconds > 0 && std::chrono::steady_clock::now() >= deadline) {
        timed_out = true;
        break;
      }
      done_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
  if (signals.requested()) {
    return drain_after_signal(server, signals, args.shutdown_timeout_seconds, [&] {
      std::lock_guard lock(mutex);
      return args.count != 0 && printed < args.count;
    });
  }
  server.stop();
  server.wait();
  print_listen_summary(timed_out ? "timed out" : "done", server.stats());
  const std::size_t got = printed;
  if (timed_out) {
    std::fprintf(stderr, "herald listen: timed out after %.1f s with %zu of %zu notification(s)\n",
                 args.timeout_seconds, got, args.count);
    return kExitIncomplete;
  }
  return kExitOk;
}

}  // namespace

void add_listen_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ListenArgs>();
  ConfigFlags& config = args->config;
  CLI::App* cmd = app.add_subcommand("listen", "Print notifications as JSON lines");
  config.add_to(cmd);
  config.set_default("DEFAULT", "transport_url", "memory://");
  auto as_is = [](const std::string& value) { return [&value] { return value; }; };
  config.override_with(cmd->add_option("--url", args->url, "Transport URL (default memory://; amqp://, rabbit://)"),
                       "oslo_messaging_notifications", "transport_url", as_is(args->url));
  config.override_with(cmd->add_option("--topic", args->topic, "Topic(s), comma-separated (default notifications)"),
                       "oslo_messaging_notifications", "topics", as_is(args->topic));
  cmd->add_option("--priority", args->priorities, "Priorities, comma-separated (default: all seven)");
  cmd->add_option("--pool", args->pool, "Pool name (one shared queue per pool)");
  cmd->add_flag("--broadcast", args->broadcast,
                "Receive every notification, whatever other listeners run (a queue of this process's own, "
                "removed when it stops)")
      ->excludes("--pool");
  cmd->add_option("--publisher-id", args->publisher_id_regex, "Regex on publisher_id (re.match semantics)");
  cmd->add_option("--event-type", args->event_type_regex, "Regex on event_type (re.match semantics)");
  cmd->add_option("--context", args->context_rules, "KEY=REGEX on a top-level context key (repeatable)");
  cmd->add_option("--metadata", args->metadata_rules, "KEY=REGEX on message_id or timestamp (repeatable)");
  cmd->add_option("--payload", args->payload_rules, "KEY=REGEX on a top-level payload key (repeatable)");
  cmd->add_option("--count", args->count, "Exit 0 after this many notifications");
  cmd->add_option("--timeout", args->timeout_seconds, "Exit non-zero after this many seconds");
  cmd->add_option("--format", args->format, "jsonl or pretty")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "pretty"}));
  cmd->add_option("--color", args->color, "Colours for --format pretty: auto (on a terminal), always or never")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "always", "never"}));
  cmd->add_option("--non-finite", args->non_finite,
                  "NaN/Infinity in a payload: null (valid JSON, adds \"non_finite\": true) or python (NaN, Infinity)")
      ->capture_default_str()
      ->check(CLI::IsMember({"null", "python"}));
  config.override_with(cmd->add_option("--exchange", args->exchange, "Control exchange (default openstack)"), "DEFAULT",
                       "control_exchange", as_is(args->exchange));
  cmd->add_flag("-v,--verbose", args->verbose, "Log transport events");
  cmd->add_option("--metrics-address", args->metrics_address,
                  "Serve /metrics, /healthz and /readyz on host:port (e.g. 127.0.0.1:9464)");
  cmd->add_option("--shutdown-timeout", args->shutdown_timeout_seconds,
                  "Seconds to drain after SIGINT/SIGTERM before releasing the rest and exiting")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  // Testing only (hidden): every handler call sleeps this long, to hold deliveries.
  cmd->add_option("--handler-delay-ms", args->handler_delay_ms, "")->group("");
  cmd->callback([args, &exit_code] { exit_code = run_listen(*args); });
}

}  // namespace herald::cli
