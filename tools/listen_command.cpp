// herald listen: prints each notification handled, one JSON object per line.
#include "cli_common.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace herald::cli {
namespace {

struct ListenArgs {
  std::string url = "memory://";
  std::string topic = "notifications";
  std::string priorities;
  std::string pool;
  std::string publisher_id_regex;
  std::string event_type_regex;
  std::size_t count = 0;
  double timeout_seconds = 0;
  std::string format = "jsonl";
  std::string exchange = "openstack";
  bool verbose = false;
};

int run_listen(const ListenArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  std::vector<Priority> priorities(kAllPriorities.begin(), kAllPriorities.end());
  if (!args.priorities.empty()) priorities = parse_priorities(args.priorities);
  Filter filter;
  if (!args.publisher_id_regex.empty()) filter.publisher_id(args.publisher_id_regex);
  if (!args.event_type_regex.empty()) filter.event_type(args.event_type_regex);

  std::mutex mutex;
  std::condition_variable done_cv;
  std::size_t printed = 0;
  const bool pretty = args.format == "pretty";
  Endpoint printer{"listen"};
  printer.filter(filter).on(std::span<const Priority>(priorities), [&](const Notification& n) {
    std::string line = notification_json(n, pretty);
    std::lock_guard lock(mutex);
    // Past --count, hand the message back untouched for the next consumer.
    if (args.count != 0 && printed >= args.count) return Result::requeue;
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (++printed == args.count) done_cv.notify_all();
    return Result::handled;
  });

  TransportOptions transport_options;
  transport_options.control_exchange = args.exchange;
  transport_options.logger = logger;
  auto transport = Transport::open(args.url, transport_options);
  ServerOptions options;
  options.workers = 1;  // keeps output in arrival order
  options.pool = args.pool;
  options.allow_requeue = true;
  options.max_redeliveries = 1'000'000;
  options.logger = logger;
  NotificationServer server(transport, {Target{args.topic, ""}}, {printer}, options);
  install_stop_signals();
  server.start();

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  bool timed_out = false;
  {
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
  CLI::App* cmd = app.add_subcommand("listen", "Print notifications as JSON lines");
  cmd->add_option("--url", args->url, "Transport URL")->capture_default_str();
  cmd->add_option("--topic", args->topic, "Topic")->capture_default_str();
  cmd->add_option("--priority", args->priorities, "Priorities, comma-separated (default: all seven)");
  cmd->add_option("--pool", args->pool, "Pool name (one shared queue per pool)");
  cmd->add_option("--publisher-id", args->publisher_id_regex, "Regex on publisher_id (re.match semantics)");
  cmd->add_option("--event-type", args->event_type_regex, "Regex on event_type (re.match semantics)");
  cmd->add_option("--count", args->count, "Exit 0 after this many notifications");
  cmd->add_option("--timeout", args->timeout_seconds, "Exit non-zero after this many seconds");
  cmd->add_option("--format", args->format, "jsonl or pretty")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "pretty"}));
  cmd->add_option("--exchange", args->exchange, "Control exchange")->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Log transport events");
  cmd->callback([args, &exit_code] { exit_code = run_listen(*args); });
}

}  // namespace herald::cli
