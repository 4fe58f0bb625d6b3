// herald outbox inspect|drain: what a Notifier's durable outbox holds, and sending it.
#include "cli_common.hpp"
#include "shutdown.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>

namespace herald::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct OutboxArgs {
  ConfigFlags config;
  std::string directory;
  std::string url;
  bool payload = false;
  double timeout_seconds = 120;
  bool verbose = false;
};

std::string utc_text(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

int run_inspect(const OutboxArgs& args) {
  const OutboxContents contents = read_outbox(args.directory);
  for (const std::string& problem : contents.problems)
    std::fprintf(stderr, "herald outbox inspect: damaged data skipped: %s\n", problem.c_str());
  std::printf("outbox %s: %zu notification(s), %llu byte(s) on disk%s\n", args.directory.c_str(),
              contents.entries.size(), static_cast<unsigned long long>(contents.bytes),
              contents.locked ? " (in use by a running process: it may change)" : "");
  if (!contents.entries.empty()) {
    auto oldest = std::min_element(contents.entries.begin(), contents.entries.end(),
                                   [](const OutboxEntry& a, const OutboxEntry& b) { return a.created < b.created; });
    const double age = std::chrono::duration<double>(std::chrono::system_clock::now() - oldest->created).count();
    std::printf("oldest: %s (%.0f s ago), message_id %s\n", utc_text(oldest->created).c_str(), std::max(age, 0.0),
                oldest->message_id.c_str());
    std::map<std::string, std::size_t> by_key;
    for (const OutboxEntry& e : contents.entries) ++by_key[e.exchange + " " + e.routing_key];
    std::printf("by exchange and routing key:\n");
    for (const auto& [key, count] : by_key) std::printf("  %8zu  %s\n", count, key.c_str());
  }
  if (args.payload)
    for (const OutboxEntry& e : contents.entries) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
      w.StartObject();
      w.Key("id");
      w.Uint64(e.id);
      w.Key("created");
      w.String(utc_text(e.created).c_str());
      w.Key("exchange");
      w.String(e.exchange.c_str(), static_cast<rapidjson::SizeType>(e.exchange.size()));
      w.Key("routing_key");
      w.String(e.routing_key.c_str(), static_cast<rapidjson::SizeType>(e.routing_key.size()));
      w.Key("message_id");
      w.String(e.message_id.c_str(), static_cast<rapidjson::SizeType>(e.message_id.size()));
      w.Key("event_type");
      w.String(e.event_type.c_str(), static_cast<rapidjson::SizeType>(e.event_type.size()));
      w.Key("body");
      w.String(e.body.c_str(), static_cast<rapidjson::SizeType>(e.body.size()));
      w.EndObject();
      std::printf("%s\n", buffer.GetString());
    }
  return contents.problems.empty() ? kExitOk : kExitFailures;
}

// Opens a Notifier on the outbox (which sends what it holds), waits until it is empty.
int run_drain(const OutboxArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  const Config config = args.config.load(logger);
  StopSignals signals;
  TransportOptions transport_options = config.transport_options();
  transport_options.logger = logger;
  auto transport = open_transport(config, transport_options);
  NotifierOptions options = config.notifier_options();
  options.logger = logger;
  options.outbox.directory = args.directory;
  options.on_error = [](const SendFailure& f) {
    std::fprintf(stderr, "herald outbox drain: failed %s (%s): %s\n", f.message_id.c_str(), f.routing_key.c_str(),
                 with_broker_hint(f.reason.empty() ? f.error.message() : f.reason).c_str());
  };
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
  OutboxStats stats;
  {
    Notifier notifier(transport, options);
    stats = *notifier.outbox_stats();
    const std::uint64_t found = stats.depth;
    std::fprintf(stderr, "herald outbox drain: %llu notification(s) in %s\n", static_cast<unsigned long long>(found),
                 args.directory.c_str());
    ProgressLine progress("confirmed", [&notifier] { return notifier.outbox_stats()->confirmed; });
    while (!signals.requested() && Clock::now() < deadline) {
      notifier.flush(std::chrono::milliseconds(100));
      stats = *notifier.outbox_stats();
      if (stats.depth == 0) break;
    }
    // The last confirmations are recorded on disk when the notifier closes the outbox.
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("drained %s via %s: %llu confirmed, %llu failed, %llu left in %.3f s\n", args.directory.c_str(),
              transport->url().to_string().c_str(), static_cast<unsigned long long>(stats.confirmed),
              static_cast<unsigned long long>(stats.failed), static_cast<unsigned long long>(stats.depth), seconds);
  if (stats.depth != 0) {
    // The rest stays in the outbox (closed above); do not wait for the transport's window.
    exit_at(Clock::now(), kExitIncomplete);
    return kExitIncomplete;
  }
  return stats.failed == 0 ? kExitOk : kExitFailures;
}

}  // namespace

void add_outbox_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<OutboxArgs>();
  CLI::App* outbox = app.add_subcommand("outbox", "Inspect or drain a durable outbox (herald send --outbox)");
  outbox->require_subcommand(1);

  CLI::App* inspect = outbox->add_subcommand("inspect", "Count the unconfirmed notifications of an outbox");
  inspect->add_option("directory", args->directory, "Outbox directory")->required();
  inspect->add_flag("--payload", args->payload, "Also print every entry (with its body) as a JSON line");
  inspect->callback([args, &exit_code] { exit_code = run_inspect(*args); });

  CLI::App* drain = outbox->add_subcommand(
      "drain", "Send what an outbox holds and wait for the confirmations; exit 0 only when it is empty");
  drain->add_option("directory", args->directory, "Outbox directory")->required();
  ConfigFlags& config = args->config;
  config.add_to(drain);
  config.set_default("DEFAULT", "transport_url", "memory://");
  config.set_default("oslo_messaging_notifications", "driver", "messagingv2");
  config.set_default("herald", "send_timeout", "120");
  config.override_with(drain->add_option("--url", args->url, "Transport URL (amqp://, rabbit://)"),
                       "oslo_messaging_notifications", "transport_url", [args] { return args->url; });
  drain->add_option("--timeout", args->timeout_seconds, "Seconds to wait until the outbox is empty")
      ->capture_default_str();
  drain->add_flag("-v,--verbose", args->verbose, "Log transport events");
  drain->callback([args, &exit_code] { exit_code = run_drain(*args); });
}

}  // namespace herald::cli
