#include "tools/route/route_actions.hpp"

#include "tools/cli_common.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <exception>
#include <optional>

namespace herald::route {
namespace {

// The line of `herald listen --format jsonl`: one definition serves both.
std::string json_line(const Notification& n) { return cli::notification_json(n, false, cli::NonFinite::null); }

class FileSink final : public RouteAction {
 public:
  FileSink(std::string endpoint, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<RotatingFile> file)
      : RouteAction(std::move(endpoint), std::move(logger)), file_(std::move(file)) {}
  const char* kind() const noexcept override { return "file"; }

 protected:
  bool deliver(const Notification& n, std::string&) override {
    file_->append(json_line(n));  // throws std::system_error on failure → requeue
    return true;
  }

 private:
  std::shared_ptr<RotatingFile> file_;
};

class WebhookSink final : public RouteAction {
 public:
  WebhookSink(std::string endpoint, std::shared_ptr<spdlog::logger> logger, HttpUrl url, const WebhookAction& config)
      : RouteAction(std::move(endpoint), std::move(logger)),
        url_(std::move(url)),
        connect_timeout_(config.connect_timeout),
        timeout_(config.timeout) {}
  const char* kind() const noexcept override { return "webhook"; }

 protected:
  bool deliver(const Notification& n, std::string& error) override {
    const HttpOutcome outcome = http_post(url_, json_line(n), connect_timeout_, timeout_);
    if (outcome.success()) return true;
    error = "POST " + url_.to_string() + ": " +
            (outcome.status != 0 ? "HTTP " + std::to_string(outcome.status) : outcome.error);
    return false;
  }

 private:
  HttpUrl url_;
  std::chrono::milliseconds connect_timeout_;
  std::chrono::milliseconds timeout_;
};

// Republishes through Notifiers, one send at a time per Notifier: flush() then says exactly
// whether that one notification was confirmed. `workers` Notifiers let the server's workers
// republish concurrently. A Notifier whose flush timed out or failed is replaced, so that a
// late confirmation or failure never counts against the next notification.
class RepublishSink final : public RouteAction {
 public:
  RepublishSink(std::string endpoint, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<Transport> transport,
                const RepublishAction& config, std::size_t workers)
      : RouteAction(std::move(endpoint), logger),
        transport_(std::move(transport)),
        topic_(config.topic),
        priority_(config.priority),
        timeout_(config.timeout),
        logger_(std::move(logger)) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, workers); ++i) idle_.push_back(make_notifier());
  }
  const char* kind() const noexcept override { return "republish"; }

 protected:
  bool deliver(const Notification& n, std::string& error) override {
    std::unique_ptr<Notifier> notifier = take();
    const Priority priority = priority_.value_or(n.priority);
    FlushResult result;
    try {
      // The original publisher_id, context, event type and payload; a new message_id and
      // timestamp (it is a new notification, as oslo would make it).
      Notifier sender = notifier->prepare({.publisher_id = n.publisher_id});
      sender.notify(priority, n.context(), n.event_type, n.payload());
      result = notifier->flush(timeout_);
    } catch (...) {
      give_back(make_notifier());  // never lose a slot: the next caller would wait forever
      throw;
    }
    const bool ok = result.ok();
    if (!ok) {
      error = "republish to " + topic_ + "." + std::string(to_string(priority)) + ": " +
              (result.pending != 0 ? "not confirmed within the timeout"
                                   : (result.last_error ? result.last_error.message() : std::string("failed")));
      notifier = make_notifier();
    }
    give_back(std::move(notifier));
    return ok;
  }

 private:
  std::unique_ptr<Notifier> make_notifier() {
    NotifierOptions options;
    options.topics = {topic_};
    options.drivers = {"messagingv2"};
    options.logger = logger_;
    options.sanitize_context = true;
    return std::make_unique<Notifier>(transport_, options);
  }
  std::unique_ptr<Notifier> take() {
    std::unique_lock lock(mutex_);
    idle_changed_.wait(lock, [this] { return !idle_.empty(); });
    std::unique_ptr<Notifier> notifier = std::move(idle_.back());
    idle_.pop_back();
    return notifier;
  }
  void give_back(std::unique_ptr<Notifier> notifier) {
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(notifier));
    }
    idle_changed_.notify_one();
  }

  std::shared_ptr<Transport> transport_;
  std::string topic_;
  std::optional<Priority> priority_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::condition_variable idle_changed_;
  std::vector<std::unique_ptr<Notifier>> idle_;
};

class LogSink final : public RouteAction {
 public:
  LogSink(std::string endpoint, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<spdlog::logger> out,
          const LogAction& config)
      : RouteAction(std::move(endpoint), std::move(logger)),
        out_(std::move(out)),
        level_(spdlog::level::from_str(config.level == "warning" ? "warn" : config.level)) {}
  const char* kind() const noexcept override { return "log"; }

 protected:
  bool deliver(const Notification& n, std::string&) override {
    // Never the payload (it may hold anything); the ids identify the notification.
    out_->log(level_, "route {}: {} {} publisher_id={} message_id={}", endpoint(), to_string(n.priority), n.event_type,
              n.publisher_id, n.message_id);
    return true;
  }

 private:
  std::shared_ptr<spdlog::logger> out_;
  spdlog::level::level_enum level_;
};

}  // namespace

RouteAction::RouteAction(std::string endpoint, std::shared_ptr<spdlog::logger> logger)
    : endpoint_(std::move(endpoint)), logger_(std::move(logger)) {}

RouteAction::~RouteAction() = default;

Result RouteAction::handle(const Notification& notification) {
  std::string error;
  bool ok = false;
  try {
    ok = deliver(notification, error);
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  if (ok) {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    return Result::handled;
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  if (logger_)
    logger_->warn("route {} ({}): message_id={}: {} (handed back: requeue, then dead letter at the limit)", endpoint_,
                  kind(), notification.message_id, error);
  return Result::requeue;
}

ActionStats RouteAction::stats() const noexcept {
  return {delivered_.load(std::memory_order_relaxed), failed_.load(std::memory_order_relaxed)};
}

ActionResources::ActionResources(std::shared_ptr<Transport> transport, std::string url,
                                 std::shared_ptr<spdlog::logger> logger, std::shared_ptr<spdlog::logger> action_logger)
    : transport_(std::move(transport)),
      url_(std::move(url)),
      logger_(std::move(logger)),
      action_logger_(std::move(action_logger)) {}

std::shared_ptr<RotatingFile> ActionResources::file(const std::string& path, std::uint64_t max_bytes, unsigned keep) {
  std::lock_guard lock(mutex_);
  auto& slot = files_[path];
  if (slot)
    slot->set_limits(max_bytes, keep);
  else
    slot = std::make_shared<RotatingFile>(path, max_bytes, keep);
  return slot;
}

std::shared_ptr<Transport> ActionResources::transport_for_exchange(const std::string& exchange) {
  if (exchange.empty() || exchange == transport_->options().control_exchange) return transport_;
  if (transport_->url().scheme() == "memory")
    throw ConfigError(
        "republish.exchange: another exchange needs a second connection, and a second memory:// "
        "transport is another broker; leave exchange out on memory://");
  std::lock_guard lock(mutex_);
  auto& slot = exchanges_[exchange];
  if (!slot) {
    TransportOptions options = transport_->options();
    options.control_exchange = exchange;
    options.on_status_change = nullptr;  // readiness follows the main transport
    slot = Transport::open(url_, options);
  }
  return slot;
}

std::shared_ptr<RouteAction> make_action(const EndpointConfig& endpoint, const std::string& source,
                                         ActionResources& resources, std::size_t workers) {
  const std::string where = source + ":" + std::to_string(endpoint.line) + ": endpoint '" + endpoint.name + "'";
  try {
    return std::visit(
        [&](const auto& action) -> std::shared_ptr<RouteAction> {
          using T = std::decay_t<decltype(action)>;
          if constexpr (std::is_same_v<T, FileAction>) {
            return std::make_shared<FileSink>(endpoint.name, resources.logger(),
                                              resources.file(action.path, action.max_bytes, action.keep));
          } else if constexpr (std::is_same_v<T, WebhookAction>) {
            return std::make_shared<WebhookSink>(endpoint.name, resources.logger(), parse_http_url(action.url), action);
          } else if constexpr (std::is_same_v<T, RepublishAction>) {
            return std::make_shared<RepublishSink>(endpoint.name, resources.logger(),
                                                   resources.transport_for_exchange(action.exchange), action, workers);
          } else {
            return std::make_shared<LogSink>(endpoint.name, resources.logger(), resources.action_logger(), action);
          }
        },
        endpoint.action);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (const auto* error = dynamic_cast<const Error*>(&e)) {
      const std::string suffix = ": " + error->code().message();
      if (what.ends_with(suffix)) what.resize(what.size() - suffix.size());
    }
    throw ConfigError(where + ": " + what);
  }
}

EndpointSet build_endpoints(const RouteConfig& config, ActionResources& resources) {
  EndpointSet set;
  for (const EndpointConfig& endpoint : config.endpoints) {
    std::shared_ptr<RouteAction> action = make_action(endpoint, config.source, resources, config.workers);
    Endpoint server_endpoint{endpoint.name};
    server_endpoint.filter(endpoint.filter)
        .on(std::span<const Priority>(endpoint.priorities),
            [action](const Notification& n) { return action->handle(n); });
    set.endpoints.push_back(std::move(server_endpoint));
    set.actions.push_back(std::move(action));
  }
  return set;
}

}  // namespace herald::route
