#include "cli_common.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <sstream>

namespace herald::cli {
namespace {
volatile std::sig_atomic_t g_stop = 0;  // async-signal-safe flag of this executable, not the library
extern "C" void on_stop_signal(int) { g_stop = 1; }
}  // namespace

std::shared_ptr<spdlog::logger> make_cli_logger(bool verbose) {
  auto logger = std::make_shared<spdlog::logger>("herald", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  return logger;
}

std::vector<Priority> parse_priorities(const std::string& list) {
  std::vector<Priority> out;
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ',')) {
    auto p = parse_priority(item);
    if (!p) throw CLI::ValidationError("--priority", "unknown priority '" + item + "'");
    out.push_back(*p);
  }
  if (out.empty()) throw CLI::ValidationError("--priority", "no priority given");
  return out;
}

template <typename Writer>
static void write_notification(Writer& w, const Notification& n) {
  w.StartObject();
  w.Key("message_id");
  w.String(n.message_id.c_str(), static_cast<rapidjson::SizeType>(n.message_id.size()));
  w.Key("publisher_id");
  if (n.publisher_id.empty())
    w.Null();
  else
    w.String(n.publisher_id.c_str(), static_cast<rapidjson::SizeType>(n.publisher_id.size()));
  w.Key("event_type");
  w.String(n.event_type.c_str(), static_cast<rapidjson::SizeType>(n.event_type.size()));
  w.Key("priority");
  std::string_view p = to_string(n.priority);
  w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
  w.Key("payload");
  n.payload().Accept(w);
  w.Key("timestamp");
  w.String(n.timestamp.c_str(), static_cast<rapidjson::SizeType>(n.timestamp.size()));
  w.Key("context");
  n.context().Accept(w);
  w.EndObject();
}

std::string notification_json(const Notification& n, bool pretty) {
  rapidjson::StringBuffer buffer;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    write_notification(writer, n);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    write_notification(writer, n);
  }
  return {buffer.GetString(), buffer.GetSize()};
}

void install_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() noexcept { return g_stop != 0; }

}  // namespace herald::cli
