// herald listen: prints each notification handled, one JSON object per line; its counters at
// exit on stderr.
#include "cli_common.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace herald::cli {
namespace {

struct ListenArgs {
  ConfigFlags config;
  std::string url;
  std::string topic;
  std::string priorities;
  std::string pool;
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

  TransportOptions transport_options = config.transport_options();
  transport_options.logger = logger;
  auto transport = open_transport(config, transport_options);
  ServerOptions options = config.server_options();
  options.workers = 1;  // keeps output in arrival order
  options.pool = args.pool;
  options.allow_requeue = true;
  options.max_redeliveries = 1'000'000;
  options.logger = logger;
  std::vector<Target> targets;
  for (const std::string& topic : config.topics) targets.push_back(Target{topic, ""});
  NotificationServer server(transport, targets, {printer}, options);
  install_stop_signals();
  server.start();

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  bool timed_out = false;
  {
    ProgressLine progress("handled", [&server] { return server.stats().handled; });
    std::unique_lock lock(mutex);
    while (!(args.count != 0 && printed >= args.count) && !stop_requested()) {
      if (args.timeout_seconds > 0 && std::chrono::steady_clock::now() >= deadline) {
        timed_out = true;
        break;
      }
      done_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
  server.stop();
  server.wait();
  const ServerStats stats = server.stats();
  std::fprintf(stderr,
               "herald listen: handled %llu, duplicates %llu, dead-lettered %llu, released %llu (received %llu, "
               "filtered %llu, requeued %llu)\n",
               static_cast<unsigned long long>(stats.handled), static_cast<unsigned long long>(stats.duplicates),
               static_cast<unsigned long long>(stats.dead_lettered), static_cast<unsigned long long>(stats.released),
               static_cast<unsigned long long>(stats.received), static_cast<unsigned long long>(stats.filtered),
               static_cast<unsigned long long>(stats.requeued));
  std::size_t got = printed;
  if (timed_out) {
    std::fprintf(stderr, "herald listen: timed out after %.1f s with %zu of %zu notification(s)\n",
                 args.timeout_seconds, got, args.count);
    return 3;
  }
  if (args.count != 0 && got < args.count) return 4;  // interrupted before --count
  return 0;
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
  cmd->callback([args, &exit_code] { exit_code = run_listen(*args); });
}

}  // namespace herald::cli
