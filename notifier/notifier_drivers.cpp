// The built-in notifier drivers: messagingv2, messaging, log, noop, test (routing lives in
// routing_driver.cpp).

#include "notifier/notifier_state.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

namespace herald::detail {
namespace {

class MessagingDriver final : public NotifierDriver {
 public:
  MessagingDriver(NotifierState& state, EnvelopeVersion version) : state_(state), version_(version) {}
  void notify(Notification& notification, int retry) override { state_.send_to_topics(notification, version_, retry); }

 private:
  NotifierState& state_;
  EnvelopeVersion version_;
};

spdlog::level::level_enum log_level(Priority priority) {
  switch (priority) {
    case Priority::debug:
      return spdlog::level::debug;
    case Priority::sample:
      return spdlog::level::debug;
    case Priority::audit:
      return spdlog::level::info;
    case Priority::info:
      return spdlog::level::info;
    case Priority::warn:
      return spdlog::level::warn;
    case Priority::error:
      return spdlog::level::err;
    case Priority::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

// One line per notification. Unlike oslo's log driver it never logs the payload (which may
// hold secrets) and it does not drop audit and sample (oslo bug #1518170).
class LogDriver final : public NotifierDriver {
 public:
  explicit LogDriver(NotifierState& state) : state_(state) {}
  void notify(Notification& n, int) override {
    state_.logger().log(log_level(n.priority), "notification {} {} from {} id={} at {}", to_upper_string(n.priority),
                        n.event_type, n.publisher_id.empty() ? std::string_view("-") : std::string_view(n.publisher_id),
                        n.message_id, n.timestamp);
  }

 private:
  NotifierState& state_;
};

class NoopDriver final : public NotifierDriver {
 public:
  void notify(Notification&, int) override {}
};

class TestDriver final : public NotifierDriver {
 public:
  explicit TestDriver(std::shared_ptr<NotificationCapture> capture) : capture_(std::move(capture)) {}
  void notify(Notification& n, int) override { capture_->record(n); }

 private:
  std::shared_ptr<NotificationCapture> capture_;
};

}  // namespace

std::unique_ptr<NotifierDriver> make_notifier_driver(const std::string& name, NotifierState& state,
                                                     bool allow_routing) {
  if (name == "messagingv2") return std::make_unique<MessagingDriver>(state, EnvelopeVersion::v2);
  if (name == "messaging") return std::make_unique<MessagingDriver>(state, EnvelopeVersion::v1);
  if (name == "log") return std::make_unique<LogDriver>(state);
  if (name == "noop") return std::make_unique<NoopDriver>();
  if (name == "test") {
    return std::make_unique<TestDriver>(state.ensure_capture());
  }
  if (name == "routing") {
    if (!allow_routing) throw ConfigError("routing_config: the routing driver cannot route to itself");
    if (state.options().routing_config.empty()) throw ConfigError("routing_config: required by the routing driver");
    return make_routing_driver(state.options().routing_config, state);
  }
  throw ConfigError("driver: unknown notifier driver '" + name +
                    "' (expected messagingv2, messaging, log, routing, noop or test)");
}

}  // namespace herald::detail
