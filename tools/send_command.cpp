// herald send: sends N notifications (or one per JSON line of stdin) and waits until every one
// is confirmed; reports the message ids that failed.
#include "cli_common.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>

namespace herald::cli {
namespace {

struct SendArgs {
  ConfigFlags config;
  std::string url;
  std::string topic;
  std::string priority = "info";
  std::string publisher_id;
  std::string event_type;
  std::string payload;
  std::string context = "{}";
  std::size_t count = 1;
  std::string driver;
  std::string exchange;
  double timeout_seconds = 120;
  double send_timeout_seconds = 120;
  int retry = -1;
  std::size_t in_flight_window = 0;
  bool from_stdin = false;
  bool verbose = false;
};

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

rapidjson::Document parse_json_flag(const std::string& text, const char* flag, bool object) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || (object && !doc.IsObject()))
    throw CLI::ValidationError(flag, object ? "not a JSON object" : "not valid JSON");
  return doc;
}

// Sends one notification per line of stdin: {"priority", "event_type", "payload", "context",
// "publisher_id"}, each optional, defaults from the flags. Returns the number of bad lines.
std::size_t send_lines(Notifier& notifier, const SendArgs& args, Priority default_priority) {
  const rapidjson::Document default_payload =
      parse_json_flag(args.payload.empty() ? "{}" : args.payload, "--payload", false);
  const rapidjson::Document default_context = parse_json_flag(args.context, "--context", true);
  std::map<std::string, Notifier> by_publisher;
  std::size_t line_number = 0;
  std::size_t bad = 0;
  std::string line;
  auto reject = [&](const char* why) {
    ++bad;
    std::fprintf(stderr, "herald send: stdin line %zu skipped: %s\n", line_number, why);
  };
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      reject("not a JSON object");
      continue;
    }
    Priority priority = default_priority;
    if (auto it = doc.FindMember("priority"); it != doc.MemberEnd()) {
      std::optional<Priority> parsed;
      if (it->value.IsString()) parsed = parse_priority(it->value.GetString());
      if (!parsed) {
        reject("unknown priority");
        continue;
      }
      priority = *parsed;
    }
    std::string event_type = args.event_type;
    if (auto it = doc.FindMember("event_type"); it != doc.MemberEnd() && it->value.IsString())
      event_type = it->value.GetString();
    if (event_type.empty()) {
      reject("no event_type (give it in the line or with --event-type)");
      continue;
    }
    const rapidjson::Value* context = &default_context;
    if (auto it = doc.FindMember("context"); it != doc.MemberEnd()) {
      if (!it->value.IsObject()) {
        reject("context is not an object");
        continue;
      }
      context = &it->value;
    }
    const rapidjson::Value* payload = &default_payload;
    if (auto it = doc.FindMember("payload"); it != doc.MemberEnd()) payload = &it->value;
    Notifier* sender = &notifier;
    if (auto it = doc.FindMember("publisher_id");
        it != doc.MemberEnd() && (it->value.IsString() || it->value.IsNull())) {
      const std::string publisher = it->value.IsString() ? it->value.GetString() : "";
      if (publisher != notifier.publisher_id()) {
        auto [entry, inserted] = by_publisher.try_emplace(publisher, notifier.prepare({.publisher_id = publisher}));
        sender = &entry->second;
      }
    }
    sender->notify(priority, *context, event_type, *payload);
  }
  return bad;
}

int run_send(const SendArgs& args) {
  if (!args.from_stdin && (args.publisher_id.empty() || args.event_type.empty() || args.payload.empty()))
    throw CLI::ValidationError("send", "--publisher-id, --event-type and --payload are required without --stdin");
  auto logger = make_cli_logger(args.verbose);
  const Config config = args.config.load(logger);
  const Priority priority = parse_priorities(args.priority).front();
  TransportOptions transport_options = config.transport_options();
  transport_options.logger = logger;
  auto transport = open_transport(config, transport_options);

  std::mutex failures_mutex;
  std::vector<SendFailure> failures;
  NotifierOptions options = config.notifier_options();
  options.publisher_id = args.publisher_id;
  options.logger = logger;
  options.on_error = [&](const SendFailure& failure) {
    std::lock_guard lock(failures_mutex);
    failures.push_back(failure);
  };
  Notifier notifier(transport, options);

  const auto start = std::chrono::steady_clock::now();
  std::size_t bad_lines = 0;
  FlushResult flushed;
  {
    ProgressLine progress("confirmed", [&notifier] { return notifier.stats().confirmed; });
    if (args.from_stdin)
      bad_lines = send_lines(notifier, args, priority);
    else
      for (std::size_t i = 0; i < args.count; ++i)
        notifier.notify(priority, args.context, args.event_type, args.payload);
    flushed = notifier.flush(std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000)));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const NotifierStats stats = notifier.stats();
  std::printf(
      "sent %llu notification(s) to %s via %s: %llu confirmed, %llu failed, %llu unconfirmed in %.3f s (%.0f/s)\n",
      static_cast<unsigned long long>(stats.sent), join(config.topics, ",").c_str(),
      transport->url().to_string().c_str(), static_cast<unsigned long long>(stats.confirmed),
      static_cast<unsigned long long>(stats.failed), static_cast<unsigned long long>(flushed.pending), seconds,
      seconds > 0 ? static_cast<double>(stats.confirmed) / seconds : 0.0);
  {
    std::lock_guard lock(failures_mutex);
    for (const SendFailure& f : failures)
      std::fprintf(stderr, "herald send: failed %s (%s): %s\n", f.message_id.c_str(), f.routing_key.c_str(),
                   with_broker_hint(f.reason.empty() ? f.error.message() : f.reason).c_str());
  }
  if (flushed.pending)
    std::fprintf(stderr, "herald send: %llu notification(s) still unconfirmed after --timeout\n",
                 static_cast<unsigned long long>(flushed.pending));
  return stats.confirmed == stats.sent && stats.failed == 0 && bad_lines == 0 ? 0 : 1;
}

}  // namespace

void add_send_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SendArgs>();
  ConfigFlags& config = args->config;
  CLI::App* cmd = app.add_subcommand("send", "Send notifications and wait until each is confirmed");
  config.add_to(cmd);
  config.set_default("DEFAULT", "transport_url", "memory://");
  config.set_default("oslo_messaging_notifications", "driver", "messagingv2");
  // The CLI rides out broker outages: a full send buffer holds the loop for up to 120 s instead
  // of failing notifications the broker will take once it is back (the library default is 10 s).
  config.set_default("herald", "send_timeout", "120");
  auto as_is = [](const std::string& value) { return [&value] { return value; }; };
  config.override_with(cmd->add_option("--url", args->url, "Transport URL (default memory://; amqp://, rabbit://)"),
                       "oslo_messaging_notifications", "transport_url", as_is(args->url));
  config.override_with(cmd->add_option("--topic", args->topic, "Topic(s), comma-separated (default notifications)"),
                       "oslo_messaging_notifications", "topics", as_is(args->topic));
  cmd->add_option("--priority", args->priority, "audit|debug|info|warn|error|critical|sample")->capture_default_str();
  cmd->add_option("--publisher-id", args->publisher_id, "Publisher id (required without --stdin)");
  cmd->add_option("--event-type", args->event_type, "Event type (required without --stdin)");
  cmd->add_option("--payload", args->payload, "Payload as JSON (required without --stdin)");
  cmd->add_option("--context", args->context, "Request context as a JSON object")->capture_default_str();
  cmd->add_option("--count", args->count, "How many to send")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag(
      "--stdin", args->from_stdin,
      "Send one notification per JSON line of stdin: {\"priority\", \"event_type\", \"payload\", \"context\", "
      "\"publisher_id\"}, each optional (defaults from the flags)");
  config.override_with(cmd->add_option("--driver", args->driver, "messagingv2 (default) or messaging")
                           ->check(CLI::IsMember({"messagingv2", "messaging"})),
                       "oslo_messaging_notifications", "driver", as_is(args->driver));
  config.override_with(cmd->add_option("--exchange", args->exchange, "Control exchange (default openstack)"), "DEFAULT",
                       "control_exchange", as_is(args->exchange));
  config.override_with(cmd->add_option("--retry", args->retry, "oslo retry: -1 = until the transport gives up, 0, N"),
                       "oslo_messaging_notifications", "retry", [args] { return std::to_string(args->retry); });
  config.override_with(
      cmd->add_option("--send-timeout", args->send_timeout_seconds,
                      "Seconds a send may wait for room in the send buffer (e.g. while the broker is down) before it fails (default 120)"),
      "herald", "send_timeout", [args] { return std::to_string(args->send_timeout_seconds); });
  config.override_with(
      cmd->add_option("--in-flight-window", args->in_flight_window, "Unconfirmed sends at most (amqp://; default 1000)")
          ->check(CLI::PositiveNumber),
      "herald", "in_flight_window", [args] { return std::to_string(args->in_flight_window); });
  cmd->add_option("--timeout", args->timeout_seconds, "Seconds to wait for confirmations after the last send")->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Log transport events");
  cmd->callback([args, &exit_code] { exit_code = run_send(*args); });
}

}  // namespace herald::cli
