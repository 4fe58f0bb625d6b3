#include "cli_common.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>

namespace herald::cli {
namespace {

constexpr std::string_view kAmqp10Hint =
    "the broker did not accept AMQP 1.0: Herald talks AMQP 1.0 to RabbitMQ (also for rabbit:// URLs); on "
    "RabbitMQ 3.x enable the plugin: rabbitmq-plugins enable rabbitmq_amqp1_0";

bool looks_like_protocol_mismatch(std::string_view message) {
  return message.find("header mismatch") != std::string_view::npos || message.find("0-9-1") != std::string_view::npos ||
         message.find("AMQP\\x00\\x00\\x09") != std::string_view::npos;
}

// Forwards to stderr and adds, once, the AMQP 1.0 plugin hint after a log line that shows the
// broker answered with another protocol (the driver only sees Proton's framing error).
class HintingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  HintingSink() : target_(std::make_shared<spdlog::sinks::stderr_color_sink_mt>()) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    target_->log(msg);
    if (!hinted_ && looks_like_protocol_mismatch({msg.payload.data(), msg.payload.size()})) {
      hinted_ = true;
      spdlog::details::log_msg hint(msg.logger_name, spdlog::level::warn,
                                    spdlog::string_view_t(kAmqp10Hint.data(), kAmqp10Hint.size()));
      target_->log(hint);
    }
  }
  void flush_() override { target_->flush(); }

 private:
  std::shared_ptr<spdlog::sinks::stderr_color_sink_mt> target_;
  bool hinted_ = false;
};

}  // namespace

std::shared_ptr<spdlog::logger> make_cli_logger(bool verbose) {
  auto logger = std::make_shared<spdlog::logger>("herald", std::make_shared<HintingSink>());
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  return logger;
}

std::string with_broker_hint(const std::string& message) {
  if (!looks_like_protocol_mismatch(message)) return message;
  return message + " (" + std::string(kAmqp10Hint) + ")";
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

namespace {

// Forwards to a RapidJSON writer, writing NaN and ±Infinity as null or in Python's spelling
// (RapidJSON's Writer refuses them and stops mid-object, which used to cut the line short).
template <typename Writer>
struct NonFiniteNumbers {
  Writer& out;
  NonFinite mode;
  bool replaced = false;
  bool Null() { return out.Null(); }
  bool Bool(bool b) { return out.Bool(b); }
  bool Int(int i) { return out.Int(i); }
  bool Uint(unsigned u) { return out.Uint(u); }
  bool Int64(std::int64_t i) { return out.Int64(i); }
  bool Uint64(std::uint64_t u) { return out.Uint64(u); }
  bool Double(double d) {
    if (std::isfinite(d)) return out.Double(d);
    if (mode == NonFinite::python) {
      std::string_view text = std::isnan(d) ? "NaN" : d < 0 ? "-Infinity" : "Infinity";
      return out.RawValue(text.data(), text.size(), rapidjson::kNumberType);
    }
    replaced = true;
    return out.Null();
  }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return out.RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return out.String(s, n, copy); }
  bool StartObject() { return out.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return out.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return out.EndObject(n); }
  bool StartArray() { return out.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return out.EndArray(n); }
};

template <typename Writer>
void write_string_or_null(Writer& w, const std::string& text) {
  if (text.empty())
    w.Null();
  else
    w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
}

template <typename Writer>
void write_notification(Writer& w, const Notification& n, NonFinite non_finite) {
  NonFiniteNumbers<Writer> numbers{w, non_finite};
  w.StartObject();
  w.Key("message_id");
  w.String(n.message_id.c_str(), static_cast<rapidjson::SizeType>(n.message_id.size()));
  w.Key("_unique_id");
  write_string_or_null(w, n.unique_id);
  w.Key("publisher_id");
  write_string_or_null(w, n.publisher_id);
  w.Key("event_type");
  w.String(n.event_type.c_str(), static_cast<rapidjson::SizeType>(n.event_type.size()));
  w.Key("priority");
  std::string_view p = to_string(n.priority);
  w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
  w.Key("payload");
  n.payload().Accept(numbers);
  w.Key("timestamp");
  w.String(n.timestamp.c_str(), static_cast<rapidjson::SizeType>(n.timestamp.size()));
  w.Key("context");
  n.context().Accept(numbers);
  if (numbers.replaced) {
    w.Key("non_finite");
    w.Bool(true);
  }
  w.EndObject();
}

}  // namespace

std::string notification_json(const Notification& n, bool pretty, NonFinite non_finite) {
  rapidjson::StringBuffer buffer;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
    write_notification(writer, n, non_finite);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    write_notification(writer, n, non_finite);
  }
  return {buffer.GetString(), buffer.GetSize()};
}

void ConfigFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--config-file", files_,
                  "oslo.config INI file (repeatable; later files override earlier ones; OS_<GROUP>__<OPTION> "
                  "environment variables and flags override files)");
}

void ConfigFlags::set_default(std::string group, std::string option, std::string value) {
  defaults_.push_back({std::move(group), std::move(option), std::move(value), "default (herald CLI)"});
}

void ConfigFlags::override_with(CLI::Option* flag, std::string group, std::string option,
                                std::function<std::string()> value) {
  overrides_.push_back({flag, std::move(group), std::move(option), std::move(value)});
}

Config ConfigFlags::load(const std::shared_ptr<spdlog::logger>& logger) const {
  ConfigSources sources;
  sources.defaults = defaults_;
  sources.files = files_;
  sources.environment = Config::process_environment();
  for (const Override& o : overrides_)
    if (o.flag->count() > 0) sources.overrides.push_back({o.group, o.option, o.value(), o.flag->get_name()});
  sources.logger = logger;
  return Config::load(sources);
}

std::shared_ptr<Transport> open_transport(const Config& config, TransportOptions options) {
  try {
    return Transport::open(config.transport_url, std::move(options));
  } catch (const ConfigError& e) {
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();  // std::system_error's, added again below
    if (what.ends_with(suffix)) what.resize(what.size() - suffix.size());
    for (const ConfigEntry& entry : config.entries)
      if (entry.group == "herald" && what.find("'" + entry.option + "'") != std::string::npos)
        throw ConfigError(entry.origin.to_string() + ": [herald] " + entry.option + ": " + what);
    throw;
  }
}

bool is_terminal(int fd) noexcept { return ::isatty(fd) == 1; }

ProgressLine::ProgressLine(std::string label, std::function<std::uint64_t()> counter)
    : label_(std::move(label)), count_(std::move(counter)) {
  if (!is_terminal(STDERR_FILENO)) return;
  thread_ = std::thread([this] {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto next = start + std::chrono::seconds(1);
    bool drawn = false;
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const auto now = Clock::now();
      if (now < next) continue;
      next = now + std::chrono::milliseconds(500);
      const std::uint64_t count = count_();
      const double seconds = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "\r\033[K%s: %llu (%.0f/s)", label_.c_str(), static_cast<unsigned long long>(count),
                   static_cast<double>(count) / seconds);
      std::fflush(stderr);
      drawn = true;
    }
    if (drawn) std::fputs("\r\033[K", stderr);
  });
}

ProgressLine::~ProgressLine() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string colourise_json(const std::string& json) {
  static constexpr std::string_view kKey = "\033[1;34m", kString = "\033[32m", kNumber = "\033[36m",
                                    kLiteral = "\033[35m", kReset = "\033[0m";
  std::string out;
  out.reserve(json.size() * 2);
  std::size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {
      std::size_t end = i + 1;
      while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, json.size());
      std::size_t after = end;
      while (after < json.size() && (json[after] == ' ' || json[after] == '\n')) ++after;
      const bool key = after < json.size() && json[after] == ':';
      out.append(key ? kKey : kString).append(json, i, end - i).append(kReset);
      i = end;
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t end = i + 1;
      while (end < json.size() && (std::isalnum(static_cast<unsigned char>(json[end])) || json[end] == '.' ||
                                   json[end] == '+' || json[end] == '-'))
        ++end;
      out.append(kNumber).append(json, i, end - i).append(kReset);
      i = end;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      std::size_t end = i + 1;
      while (end < json.size() && std::isalpha(static_cast<unsigned char>(json[end]))) ++end;
      out.append(kLiteral).append(json, i, end - i).append(kReset);
      i = end;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string_view priority_colour(Priority priority) noexcept {
  switch (priority) {
    case Priority::critical:
      return "\033[1;41;37m";
    case Priority::error:
      return "\033[1;31m";
    case Priority::warn:
      return "\033[1;33m";
    case Priority::audit:
      return "\033[1;35m";
    case Priority::debug:
    case Priority::sample:
      return "\033[2m";
    default:
      return "\033[1;32m";
  }
}

}  // namespace herald::cli
