// herald dlq inspect|replay|purge: the dead-letter queue from the command line.
#include "cli_common.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>

namespace herald::cli {
namespace {

struct DlqArgs {
  std::string url = "memory://";
  std::string queue;
  std::string exchange = "openstack";
  double timeout_seconds = 60;
  bool verbose = false;
  // inspect
  std::size_t count = 0;
  bool payload = false;
  // replay
  std::string to;
  bool original = false;
  std::string replay_exchange;
  std::string publisher_id_regex;
  std::string event_type_regex;
  double idle_seconds = 5;
  // purge
  bool yes = false;
};

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

DeadLetterQueue open_queue(const DlqArgs& args) {
  TransportOptions transport_options;
  transport_options.control_exchange = args.exchange;
  transport_options.logger = make_cli_logger(args.verbose);
  auto transport = Transport::open(args.url, transport_options);
  return DeadLetterQueue(transport, {.queue = args.queue, .timeout = to_ms(args.timeout_seconds)});
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     rapidjson::CrtAllocator, rapidjson::kWriteNanAndInfFlag>;

void write_string(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// Omitted when unknown, so a reader can tell "unknown" from "empty".
void write_known(JsonWriter& w, const char* key, const std::string& value) {
  if (!value.empty()) write_string(w, key, value);
}

bool valid_utf8(const std::string& text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteValidateEncodingFlag>
      check(buffer);
  return check.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// One JSON line per dead letter. The payload (and an undecodable body) only with --payload:
// dead letters may hold data operators should not see by default.
std::string dead_letter_json(const DeadLetter& letter, bool with_payload) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("position");
  w.Uint64(letter.position);
  write_known(w, "message_id", letter.message_id);
  write_known(w, "reason", letter.reason);
  write_known(w, "queue", letter.queue);
  write_known(w, "exchange", letter.exchange);
  write_known(w, "routing_key", letter.routing_key);
  w.Key("decodable");
  w.Bool(letter.notification.has_value());
  if (const auto& n = letter.notification) {
    write_string(w, "priority", std::string(to_string(n->priority)));
    write_string(w, "publisher_id", n->publisher_id);
    write_string(w, "event_type", n->event_type);
    write_known(w, "timestamp", n->timestamp);
    write_known(w, "unique_id", n->unique_id);
    if (with_payload) {
      w.Key("payload");
      n->payload().Accept(w);
      w.Key("context");
      n->context().Accept(w);
    }
  } else {
    write_string(w, "error", letter.decode_error);
    w.Key("size");
    w.Uint64(letter.body.size());
    if (with_payload) {
      if (valid_utf8(letter.body))
        write_string(w, "body", letter.body);
      else
        write_string(w, "body_base64", base64(letter.body));
    }
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

int run_inspect(const DlqArgs& args) {
  DeadLetterQueue queue = open_queue(args);
  std::vector<DeadLetter> letters = queue.inspect(args.count);
  for (const DeadLetter& letter : letters) {
    std::string line = dead_letter_json(letter, args.payload);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  std::fprintf(stderr, "herald dlq inspect: %zu message(s) read from '%s', all left in place\n", letters.size(),
               queue.name().c_str());
  if (args.count == 0 && !letters.empty()) {
    std::size_t depth = queue.depth();
    if (depth > letters.size())
      std::fprintf(stderr, "herald dlq inspect: the queue holds %zu; only the first %zu were read\n", depth,
                   letters.size());
  }
  return 0;
}

int run_replay(const DlqArgs& args) {
  if (args.to.empty() == !args.original)
    throw CLI::ValidationError("replay", "give exactly one of --to and --original");
  ReplayOptions options;
  options.to = args.to;
  options.exchange = args.replay_exchange;
  options.max_count = args.count;
  if (!args.publisher_id_regex.empty()) options.filter.publisher_id(args.publisher_id_regex);
  if (!args.event_type_regex.empty()) options.filter.event_type(args.event_type_regex);
  options.confirm_timeout = to_ms(args.timeout_seconds);
  options.idle_timeout = to_ms(args.idle_seconds);
  DeadLetterQueue queue = open_queue(args);
  ReplayReport report = queue.replay(options);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_string(w, "queue", queue.name());
  for (auto [key, value] : {std::pair{"examined", report.examined}, std::pair{"replayed", report.replayed},
                            std::pair{"not_matched", report.not_matched}, std::pair{"undecodable", report.undecodable},
                            std::pair{"unknown_origin", report.unknown_origin}, std::pair{"failed", report.failed}}) {
    w.Key(key);
    w.Uint64(value);
  }
  w.EndObject();
  std::printf("%s\n", buffer.GetString());
  if (!report.error.empty()) std::fprintf(stderr, "herald dlq replay: %s\n", report.error.c_str());
  return report.failed == 0 ? 0 : 1;
}

int run_purge(const DlqArgs& args) {
  if (!args.yes) {
    std::fprintf(stderr, "herald dlq purge: this deletes every dead letter; add --yes to do it\n");
    return 2;
  }
  DeadLetterQueue queue = open_queue(args);
  std::size_t purged = queue.purge();
  std::fprintf(stderr, "herald dlq purge: %zu message(s) deleted from '%s'\n", purged, queue.name().c_str());
  return 0;
}

void add_common(CLI::App* cmd, DlqArgs& args) {
  cmd->add_option("--url", args.url, "Transport URL (amqp://...?dead_letter_exchange=X)")->capture_default_str();
  cmd->add_option("--queue", args.queue, "Dead-letter queue (default: the transport's)");
  cmd->add_option("--exchange", args.exchange, "Control exchange")->capture_default_str();
  cmd->add_option("--timeout", args.timeout_seconds, "Seconds per management API call / for confirmations")
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", args.verbose, "Log transport events");
}

}  // namespace

void add_dlq_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DlqArgs>();
  CLI::App* dlq = app.add_subcommand("dlq", "Inspect, replay or purge the dead-letter queue");
  dlq->require_subcommand(1);

  CLI::App* inspect = dlq->add_subcommand("inspect", "Print dead letters as JSON lines without removing them");
  add_common(inspect, *args);
  inspect->add_option("--count", args->count, "Read at most this many (default: all, up to 10000)");
  inspect->add_flag("--payload", args->payload, "Include payload and context (or the raw body if undecodable)");
  inspect->callback([args, &exit_code] { exit_code = run_inspect(*args); });

  CLI::App* replay = dlq->add_subcommand("replay", "Republish dead letters, removing each once confirmed");
  add_common(replay, *args);
  replay->add_option("--to", args->to, "Routing key <topic>.<priority> to republish to");
  replay->add_flag("--original", args->original, "Republish to each message's original routing key");
  replay->add_option("--to-exchange", args->replay_exchange, "Exchange to republish to (default: control exchange)");
  replay->add_option("--count", args->count, "Replay at most this many (default: all that match)");
  replay->add_option("--publisher-id", args->publisher_id_regex, "Only these publisher_ids (regex, re.match)");
  replay->add_option("--event-type", args->event_type_regex, "Only these event_types (regex, re.match)");
  replay->add_option("--idle", args->idle_seconds, "Stop after this many seconds without a dead letter")
      ->capture_default_str();
  replay->callback([args, &exit_code] { exit_code = run_replay(*args); });

  CLI::App* purge = dlq->add_subcommand("purge", "Delete every dead letter");
  add_common(purge, *args);
  purge->add_flag("--yes", args->yes, "Confirm the deletion");
  purge->callback([args, &exit_code] { exit_code = run_purge(*args); });
}

}  // namespace herald::cli
