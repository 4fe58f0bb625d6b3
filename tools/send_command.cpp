// herald send: sends N notifications and waits until every one is confirmed.
#include "cli_common.hpp"

#include <chrono>
#include <cstdio>

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
  double timeout_seconds = 120;
  bool verbose = false;
};

int run_send(const SendArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  Priority priority = parse_priorities(args.priority).front();
  TransportOptions transport_options;
  transport_options.control_exchange = args.exchange;
  transport_options.logger = logger;
  // The CLI rides out broker outages: a full send buffer holds the loop (up to the flush
  // timeout) instead of failing notifications the broker would take a little later.
  transport_options.send_timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  auto transport = Transport::open(args.url, transport_options);
  NotifierOptions options;
  options.publisher_id = args.publisher_id;
  options.topics = {args.topic};
  options.drivers = {args.driver};
  options.logger = logger;
  Notifier notifier(transport, options);

  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < args.count; ++i) notifier.notify(priority, args.context, args.event_type, args.payload);
  auto timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  FlushResult flushed = notifier.flush(timeout);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  NotifierStats stats = notifier.stats();
  std::printf(
      "sent %zu notification(s) to %s.%s via %s: %llu confirmed, %llu failed, %llu unconfirmed in %.3f s (%.0f/s)\n",
      args.count, args.topic.c_str(), std::string(to_string(priority)).c_str(), transport->url().to_string().c_str(),
      static_cast<unsigned long long>(stats.confirmed), static_cast<unsigned long long>(stats.failed),
      static_cast<unsigned long long>(flushed.pending), seconds,
      seconds > 0 ? static_cast<double>(stats.confirmed) / seconds : 0.0);
  if (flushed.last_error) std::fprintf(stderr, "herald send: last error: %s\n", flushed.last_error.message().c_str());
  return stats.confirmed == args.count && stats.failed == 0 ? 0 : 1;
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
  cmd->add_option("--timeout", args->timeout_seconds, "Seconds to wait for confirmations, and how long a full send buffer may hold a send (broker outages)")->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Log transport events");
  cmd->callback([args, &exit_code] { exit_code = run_send(*args); });
}

}  // namespace herald::cli
