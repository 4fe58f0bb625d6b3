// herald send: sends N notifications (or one per JSON line of stdin) and waits until every one
// is confirmed; reports the message ids that failed.
#include "cli_common.hpp"
#include "metrics_server.hpp"
#include "shutdown.hpp"

#include <poll.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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
  std::string metrics_address;
  double shutdown_timeout_seconds = 10;
  std::string outbox;
  double outbox_commit_interval = 0.01;
  std::uint64_t outbox_max_bytes = 0;
  std::string outbox_full_policy;
  bool report_durable = false;
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

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

rapidjson::Document parse_json_flag(const std::string& text, const char* flag, bool object) {
  rapidjson::Document doc;
  try {
    doc = herald::parse_json(text, "the value");  // the rules decode() applies
  } catch (const herald::DecodeError& e) {
    throw CLI::ValidationError(flag, e.what());
  }
  if (object && !doc.IsObject()) throw CLI::ValidationError(flag, "not a JSON object");
  return doc;
}

// Calls `on_line` for each line of stdin until EOF or a stop signal. Reads with poll()+read()
// rather than std::getline so that a signal ends the loop even while stdin is idle.
// Returns false when a signal stopped it before EOF.
bool read_stdin_lines(const StopSignals& signals, const std::function<void(std::string&)>& on_line) {
  std::string buffer;
  char chunk[65536];
  for (;;) {
    if (signals.requested()) return false;
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&fd, 1, 100);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;  // EOF (or an error: treated as the end of input)
    buffer.append(chunk, static_cast<std::size_t>(got));
    std::size_t start = 0;
    for (std::size_t end; (end = buffer.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = buffer.substr(start, end - start);
      on_line(line);
      if (signals.requested()) return false;
    }
    buffer.erase(0, start);
  }
  if (!buffer.empty()) on_line(buffer);  // a last line without '\n'
  return true;
}

struct StdinResult {
  std::size_t bad_lines = 0;
  bool stopped = false;  ///< a signal ended the input before EOF
};

// Sends one notification per line of stdin: {"priority", "event_type", "payload", "context",
// "publisher_id"}, each optional, defaults from the flags. A stop signal ends the loop.
StdinResult send_lines(Notifier& notifier, const SendArgs& args, Priority default_priority,
                       const StopSignals& signals) {
  const rapidjson::Document default_payload =
      parse_json_flag(args.payload.empty() ? "{}" : args.payload, "--payload", false);
  const rapidjson::Document default_context = parse_json_flag(args.context, "--context", true);
  std::map<std::string, Notifier> by_publisher;
  std::size_t line_number = 0;
  std::size_t bad = 0;
  auto reject = [&](const char* why) {
    ++bad;
    std::fprintf(stderr, "herald send: stdin line %zu skipped: %s\n", line_number, why);
  };
  const bool reached_eof = read_stdin_lines(signals, [&](std::string& line) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    rapidjson::Document doc;
    try {
      doc = herald::parse_json(line, "the line");
    } catch (const herald::DecodeError& e) {
      reject(e.what());
      return;
    }
    if (!doc.IsObject()) {
      reject("not a JSON object");
      return;
    }
    Priority priority = default_priority;
    if (auto it = doc.FindMember("priority"); it != doc.MemberEnd()) {
      std::optional<Priority> parsed;
      if (it->value.IsString()) parsed = parse_priority(it->value.GetString());
      if (!parsed) {
        reject("unknown priority");
        return;
      }
      priority = *parsed;
    }
    std::string event_type = args.event_type;
    if (auto it = doc.FindMember("event_type"); it != doc.MemberEnd() && it->value.IsString())
      event_type = it->value.GetString();
    if (event_type.empty()) {
      reject("no event_type (give it in the line or with --event-type)");
      return;
    }
    const rapidjson::Value* context = &default_context;
    if (auto it = doc.FindMember("context"); it != doc.MemberEnd()) {
      if (!it->value.IsObject()) {
        reject("context is not an object");
        return;
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
  });
  return {bad, !reached_eof};
}

int run_send(const SendArgs& args) {
  if (!args.from_stdin && (args.publisher_id.empty() || args.event_type.empty() || args.payload.empty()))
    throw CLI::ValidationError("send", "--publisher-id, --event-type and --payload are required without --stdin");
  auto logger = make_cli_logger(args.verbose);
  const Config config = args.config.load(logger);
  const Priority priority = parse_priorities(args.priority).front();
  StopSignals signals;
  TransportOptions transport_options = config.transport_options();
  transport_options.logger = logger;
  if (!args.metrics_address.empty()) transport_options.metrics = Metrics::create();
  auto transport = open_transport(config, transport_options);
  std::optional<MetricsServer> http;
  if (transport_options.metrics)
    http.emplace(args.metrics_address, transport_options.metrics, [&]() -> Readiness {
      if (signals.requested()) return {false, "shutting down"};
      return readiness_of(*transport);
    });

  std::mutex failures_mutex;
  std::vector<SendFailure> failures;
  NotifierOptions options = config.notifier_options();
  options.metrics = transport_options.metrics;
  options.publisher_id = args.publisher_id;
  options.logger = logger;
  options.on_error = [&](const SendFailure& failure) {
    std::lock_guard lock(failures_mutex);
    failures.push_back(failure);
  };
  std::optional<Notifier> notifier_holder;  // closed before the transport (see the end)
  Notifier& notifier = notifier_holder.emplace(transport, options);
  const std::uint64_t replayed = notifier.outbox_stats() ? notifier.outbox_stats()->replayed : 0;
  if (replayed)
    std::fprintf(stderr,
                 "herald send: %llu unconfirmed notification(s) in the outbox from an earlier run are sent again\n",
                 static_cast<unsigned long long>(replayed));
  // --report-durable: "durable N" on stdout whenever more of this run's notifications are on
  // disk (the first N notify calls are durable), for scripts and the crash tests.
  std::atomic<bool> durable_stop{false};
  std::thread durable_reporter;
  if (args.report_durable && notifier.outbox_stats())
    durable_reporter = std::thread([&notifier, &durable_stop] {
      std::uint64_t reported = 0;
      for (bool last = false; !last;) {
        last = durable_stop.load();
        const std::uint64_t durable = notifier.outbox_stats()->durable;
        if (durable != reported) {
          reported = durable;
          std::printf("durable %llu\n", static_cast<unsigned long long>(durable));
          std::fflush(stdout);
        }
        if (!last) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });

  const auto start = std::chrono::steady_clock::now();
  StdinResult from_stdin;
  FlushResult flushed;
  std::optional<Clock::time_point> stop_deadline;
  {
    ProgressLine progress("confirmed", [&notifier] { return notifier.stats().confirmed; });
    // A signal stops taking work: the loop ends, what was sent is flushed with a deadline.
    if (args.from_stdin)
      from_stdin = send_lines(notifier, args, priority, signals);
    else
      for (std::size_t i = 0; i < args.count && !signals.requested(); ++i)
        notifier.notify(priority, args.context, args.event_type, args.payload);
    const auto timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000));
    flushed = flush_until_done_or_stopped(notifier, signals, timeout, args.shutdown_timeout_seconds, stop_deadline);
  }
  durable_stop = true;
  if (durable_reporter.joinable()) durable_reporter.join();
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
  if (flushed.pending && !signals.requested())
    std::fprintf(stderr, "herald send: %llu notification(s) still unconfirmed after --timeout\n",
                 static_cast<unsigned long long>(flushed.pending));
  // With --stdin, what was requested is what was read (the lines a signal left unread are not
  // counted); otherwise --count.
  // Unconfirmed notifications of an earlier run found in the outbox are sent too.
  const std::uint64_t requested = args.from_stdin ? stats.sent : args.count + replayed;
  const bool complete = stats.confirmed == requested && stats.failed == 0 && !from_stdin.stopped;
  int code = kExitOk;
  if (complete)
    code = from_stdin.bad_lines == 0 ? kExitOk : kExitFailures;
  else if (signals.count() > 1)
    code = signal_exit_code(signals.first_signal());  // a second signal cut the flush short
  else
    code = stats.failed != 0 ? kExitFailures : kExitIncomplete;
  if (!complete) {
    const std::string why = signals.requested()    ? "stopped by " + signal_name(signals.first_signal())
                            : flushed.pending != 0 ? "timed out"
                                                   : "failures";
    print_send_summary(why.c_str(), requested, stats);
  }
  // After a signal, closing the transport (it waits for unconfirmed sends) must also end by the
  // shutdown deadline.
  if (stop_deadline) exit_at(*stop_deadline, code);
  if (notifier.outbox_stats()) {
    // What is unconfirmed is in the outbox, on disk once the notifier closes it: waiting for the
    // transport to confirm it as well would only hold the exit (up to send_timeout).
    const bool unconfirmed = notifier.stats().pending != 0;
    notifier_holder.reset();
    if (unconfirmed) exit_at(Clock::now(), code);
  }
  return code;
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
  config.override_with(cmd->add_option("--send-timeout", args->send_timeout_seconds,
                                       "Seconds a send may wait for room in the send buffer (e.g. while the broker is "
                                       "down) before it fails (default 120)"),
                       "herald", "send_timeout", [args] { return std::to_string(args->send_timeout_seconds); });
  config.override_with(
      cmd->add_option("--in-flight-window", args->in_flight_window, "Unconfirmed sends at most (amqp://; default 1000)")
          ->check(CLI::PositiveNumber),
      "herald", "in_flight_window", [args] { return std::to_string(args->in_flight_window); });
  config.override_with(cmd->add_option("--outbox", args->outbox,
                                       "Durable outbox directory: notifications are written there first and "
                                       "survive a crash of this process (docs/reliability.md)"),
                       "herald", "outbox_dir", as_is(args->outbox));
  config.override_with(cmd->add_option("--outbox-commit-interval", args->outbox_commit_interval,
                                       "Seconds between group commits of the outbox; 0 = fsync per message "
                                       "(default 0.01)")
                           ->check(CLI::Range(0.0, 10.0)),
                       "herald", "outbox_commit_interval",
                       [args] { return std::to_string(args->outbox_commit_interval); });
  config.override_with(cmd->add_option("--outbox-max-bytes", args->outbox_max_bytes,
                                       "Bytes the outbox may take on disk (default 256 MiB)"),
                       "herald", "outbox_max_bytes", [args] { return std::to_string(args->outbox_max_bytes); });
  config.override_with(cmd->add_option("--outbox-full-policy", args->outbox_full_policy,
                                       "When the outbox is full: block (up to --send-timeout), fail_new or drop_oldest")
                           ->check(CLI::IsMember({"block", "fail_new", "drop_oldest"})),
                       "herald", "outbox_full_policy", as_is(args->outbox_full_policy));
  cmd->add_flag("--report-durable", args->report_durable,
                "With an outbox: print 'durable N' on stdout each time more notifications are on disk");
  cmd->add_option("--timeout", args->timeout_seconds, "Seconds to wait for confirmations after the last send")
      ->capture_default_str();
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
