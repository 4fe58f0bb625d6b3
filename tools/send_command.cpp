// herald send: sends N notifications and waits until every one is confirmed.
#include "cli_common.hpp"
#include "metrics_server.hpp"
#include "shutdown.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace herald::cli {
namespace {

struct SendArgs {
  std::string url = "memory://";
  std::string topic = "notifications";
  std::string priority = "info";
  std::string publisher_id;
  std::string event_type;
  std::string payload = "{}";
  std::string context = "{}";
  std::size_t count = 1;
  std::string driver = "messagingv2";
  std::string exchange = "openstack";
  double timeout_seconds = 30;
  bool verbose = false;
  std::string metrics_address;
  double shutdown_timeout_seconds = 10;
};

using Clock = std::chrono::steady_clock;

// Waits for confirmations until `timeout`, or after SIGINT/SIGTERM at most the shutdown budget
// (`stop_deadline` is set when the first signal is seen); a second signal stops waiting.
FlushResult flush_until_done_or_stopped(Notifier& notifier, const StopSignals& signals,
                                        std::chrono::milliseconds timeout, double shutdown_timeout_seconds,
                                        std::optional<Clock::time_point>& stop_deadline) {
  const auto normal_deadline = Clock::now() + timeout;
  FlushResult result;
  for (;;) {
    if (signals.requested() && !stop_deadline)
      stop_deadline = Clock::now() + shutdown_budget(shutdown_timeout_seconds).total;
    const auto deadline = stop_deadline ? std::min(normal_deadline, *stop_deadline) : normal_deadline;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    FlushResult slice = notifier.flush(std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(100)));
    result.pending = slice.pending;
    result.failed += slice.failed;
    if (slice.last_error) result.last_error = slice.last_error;
    if (slice.pending == 0 || left.count() <= 0 || signals.count() > 1) return result;
  }
}

int run_send(const SendArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  Priority priority = parse_priorities(args.priority).front();
  StopSignals signals;
  TransportOptions transport_options;
  transport_options.control_exchange = args.exchange;
  transport_options.logger = logger;
  if (!args.metrics_address.empty()) transport_options.metrics = Metrics::create();
  auto transport = Transport::open(args.url, transport_options);
  std::optional<MetricsServer> http;
  if (transport_options.metrics)
    http.emplace(args.metrics_address, transport_options.metrics, [&]() -> Readiness {
      if (signals.requested()) return {false, "shutting down"};
      return readiness_of(*transport);
    });
  NotifierOptions options;
  options.metrics = transport_options.metrics;
  options.publisher_id = args.publisher_id;
  options.topics = {args.topic};
  options.drivers = {args.driver};
  options.logger = logger;
  Notifier notifier(transport, options);

  auto start = std::chrono::steady_clock::now();
  // A signal stops taking work: the loop ends, what was sent is flushed with a deadline.
  for (std::size_t i = 0; i < args.count && !signals.requested(); ++i)
    notifier.notify(priority, args.context, args.event_type, args.payload);
  auto timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  std::optional<Clock::time_point> stop_deadline;
  FlushResult flushed =
      flush_until_done_or_stopped(notifier, signals, timeout, args.shutdown_timeout_seconds, stop_deadline);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  NotifierStats stats = notifier.stats();
  std::printf(
      "sent %zu notification(s) to %s.%s via %s: %llu confirmed, %llu failed, %llu unconfirmed in %.3f s (%.0f/s)\n",
      static_cast<std::size_t>(stats.sent), args.topic.c_str(), std::string(to_string(priority)).c_str(),
      transport->url().to_string().c_str(), static_cast<unsigned long long>(stats.confirmed),
      static_cast<unsigned long long>(stats.failed), static_cast<unsigned long long>(flushed.pending), seconds,
      seconds > 0 ? static_cast<double>(stats.confirmed) / seconds : 0.0);
  if (flushed.last_error) std::fprintf(stderr, "herald send: last error: %s\n", flushed.last_error.message().c_str());
  int code = kExitOk;
  if (stats.confirmed == args.count && stats.failed == 0)
    code = kExitOk;
  else if (signals.count() > 1)
    code = signal_exit_code(signals.first_signal());  // a second signal cut the flush short
  else
    code = stats.failed != 0 ? kExitFailures : kExitIncomplete;
  if (code != kExitOk) {
    const std::string why = signals.requested()    ? "stopped by " + signal_name(signals.first_signal())
                            : flushed.pending != 0 ? "timed out"
                                                   : "failures";
    print_send_summary(why.c_str(), args.count, stats);
  }
  // After a signal, closing the transport (it waits for unconfirmed sends) must also end by the
  // shutdown deadline.
  if (stop_deadline) exit_at(*stop_deadline, code);
  return code;
}

}  // namespace

void add_send_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SendArgs>();
  CLI::App* cmd = app.add_subcommand("send", "Send notifications and wait until each is confirmed");
  cmd->add_option("--url", args->url, "Transport URL (memory://, amqp://user:pass@host:5672/)")->capture_default_str();
  cmd->add_option("--topic", args->topic, "Topic")->capture_default_str();
  cmd->add_option("--priority", args->priority, "audit|debug|info|warn|error|critical|sample")->capture_default_str();
  cmd->add_option("--publisher-id", args->publisher_id, "Publisher id")->required();
  cmd->add_option("--event-type", args->event_type, "Event type")->required();
  cmd->add_option("--payload", args->payload, "Payload as JSON")->required();
  cmd->add_option("--context", args->context, "Request context as a JSON object")->capture_default_str();
  cmd->add_option("--count", args->count, "How many to send")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--driver", args->driver, "messagingv2 or messaging")
      ->capture_default_str()
      ->check(CLI::IsMember({"messagingv2", "messaging"}));
  cmd->add_option("--exchange", args->exchange, "Control exchange")->capture_default_str();
  cmd->add_option("--timeout", args->timeout_seconds, "Seconds to wait for confirmations")->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Log transport events");
  cmd->add_option("--metrics-address", args->metrics_address,
                  "Serve /metrics, /healthz and /readyz on host:port (e.g. 127.0.0.1:9464)");
  cmd->add_option("--shutdown-timeout", args->shutdown_timeout_seconds,
                  "Seconds to wait for confirmations after SIGINT/SIGTERM before exiting")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([args, &exit_code] { exit_code = run_send(*args); });
}

}  // namespace herald::cli
