// The built-in notifier drivers: messagingv2, messaging, log, noop, test (routing lives in
// routing_driver.cpp).

#include "notifier/notifier_core.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

namespace herald::detail {
namespace {

class MessagingDriver final : public NotifierDriver {
 public:
  MessagingDriver(NotifierCore& core, EnvelopeVersion version) : core_(core), version_(version) {}
  void notify(Notification& notification, int retry) override { core_.send_to_topics(notification, version_, retry); }

 private:
  NotifierCore& core_;
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
  explicit LogDriver(NotifierCore& core) : core_(core) {}
  void notify(Notification& n, int) override {
    core_.logger().log(log_level(n.priority), "notification {} {} from {} id={} at {}", to_upper_string(n.priority),
                       n.event_type, n.publisher_id.empty() ? std::string_view("-") : std::string_view(n.publisher_id),
                       n.message_id, n.timestamp);
  }

 private:
  NotifierCore& core_;
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

std::unique_ptr<NotifierDriver> make_notifier_driver(const std::string& name, NotifierCore& core, bool allow_routing) {
  if (name == "messagingv2") return std::make_unique<MessagingDriver>(core, EnvelopeVersion::v2);
  if (name == "messaging") return std::make_unique<MessagingDriver>(core, EnvelopeVersion::v1);
  if (name == "log") return std::make_unique<LogDriver>(core);
  if (name == "noop") return std::make_unique<NoopDriver>();
  if (name == "test") {
    return std::make_unique<TestDriver>(core.ensure_capture());
  }
  if (name == "routing") {
    if (!allow_routing) throw ConfigError("routing_config: the routing driver cannot route to itself");
    if (core.options().routing_config.empty()) throw ConfigError("routing_config: required by the routing driver");
    return make_routing_driver(core.options().routing_config, core);
  }
  throw ConfigError("driver: unknown notifier driver '" + name +
                    "' (expected messagingv2, messaging, log, routing, noop or test)");
}

}  // namespace herald::detail
