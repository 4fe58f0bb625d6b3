#include "notifier/notifier_state.hpp"

#include "core/json_parse.hpp"
#include "core/logging.hpp"
#include "transports/transport_driver.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <array>

namespace herald {
namespace detail {
namespace {

// oslo.messaging 14.0.3 `_sanitize_context`: the only context keys a notification carries.
constexpr std::array<std::string_view, 27> kSafeContextKeys = {"user_id",
                                                               "project_id",
                                                               "domain_id",
                                                               "user_domain_id",
                                                               "project_domain_id",
                                                               "is_admin",
                                                               "request_id",
                                                               "roles",
                                                               "user_name",
                                                               "project_name",
                                                               "domain_name",
                                                               "user_domain_name",
                                                               "project_domain_name",
                                                               "service_user_id",
                                                               "service_user_domain_id",
                                                               "service_user_domain_name",
                                                               "service_project_id",
                                                               "service_project_name",
                                                               "service_project_domain_id",
                                                               "service_project_domain_name",
                                                               "service_roles",
                                                               "global_request_id",
                                                               "system_scope",
                                                               "user",
                                                               "domain",
                                                               "user_domain",
                                                               "project_domain"};

bool is_safe_context_key(std::string_view key) {
  return std::find(kSafeContextKeys.begin(), kSafeContextKeys.end(), key) != kSafeContextKeys.end();
}

void validate(const NotifierOptions& options) {
  if (options.topics.empty()) throw ConfigError("topics: at least one topic is required");
  for (const std::string& topic : options.topics)
    if (topic.empty()) throw ConfigError("topics: a topic must not be empty");
  if (options.drivers.empty())
    throw ConfigError("driver: at least one notifier driver is required (use noop to disable)");
  if (options.retry < -1) throw ConfigError("retry: must be -1 (forever), 0 or a positive count");
}

}  // namespace

NotifierState::NotifierState(std::shared_ptr<Transport> transport, NotifierOptions options)
    : transport_(std::move(transport)), options_(std::move(options)), logger_(logger_or_default(options_.logger)) {
  if (!transport_) throw ConfigError("transport: a transport is required");
  validate(options_);
  if (!options_.metrics) options_.metrics = transport_->options().metrics;  // the transport's handle by default
  if (options_.metrics) instruments_ = std::make_unique<NotifierInstruments>(options_.metrics);
  enabled_ =
      !std::all_of(options_.drivers.begin(), options_.drivers.end(), [](const std::string& d) { return d == "noop"; });
}

NotifierState::~NotifierState() {
  if (outbox_) outbox_->stop();
}

void NotifierState::load_drivers() {
  for (const std::string& name : options_.drivers) drivers_.push_back(make_notifier_driver(name, *this, true));
  if (options_.outbox.directory.empty()) return;
  outbox_ = Outbox::open(options_.outbox, transport_->driver(), transport_->options().send_timeout, logger_,
                         options_.metrics, [weak = weak_from_this()](const OutboxOutcome& outcome) {
                           if (auto self = weak.lock()) self->on_outbox_outcome(outcome);
                         });
  // Entries of an earlier run count as sent: flush() waits for them too.
  sent_.fetch_add(outbox_->stats().replayed, std::memory_order_relaxed);
  outbox_->start();
}

void NotifierState::on_outbox_outcome(const OutboxOutcome& outcome) {
  observe(outcome.priority, outcome.error, std::chrono::steady_clock::now() - outcome.latency);
  if (!outcome.error) {
    complete(outcome.error, nullptr);
    return;
  }
  SendFailure failure{std::string(outcome.message_id),
                      std::string(outcome.event_type),
                      outcome.priority,
                      std::string(outcome.routing_key),
                      outcome.error,
                      std::string(outcome.reason)};
  complete(outcome.error, &failure);
}

void NotifierState::send_to_topics(Notification& notification, EnvelopeVersion version, int retry) {
  TransportDriver& driver = transport_->driver();
  const std::string& exchange = transport_->options().control_exchange;
  const std::string_view priority = to_string(notification.priority);
  for (const std::string& topic : options_.topics) {
    OutgoingMessage message;
    message.exchange = exchange;
    message.routing_key.reserve(topic.size() + 1 + priority.size());
    message.routing_key.append(topic).append(".").append(priority);
    notification.unique_id = ids_.unique_id();  // per send, as oslo's _add_unique_id
    try {
      encode(notification, version, message.body);
    } catch (const Error& e) {
      record_failure(SendFailure{notification.message_id, notification.event_type, notification.priority,
                                 message.routing_key, e.code()});
      continue;
    }
    message.message_id = notification.message_id;
    message.retry = retry;
    if (outbox_) {
      // Written to the outbox now; its pump sends it and reports the outcome.
      // Counted as sent first: the outcome may arrive before append() returns.
      std::string reason;
      sent_.fetch_add(1, std::memory_order_relaxed);
      if (instruments_) instruments_->sent(notification.priority);
      const std::error_code refused =
          outbox_->append(std::move(message), notification.priority, notification.event_type, reason);
      if (refused) {  // append() left `message` as it was
        if (instruments_) instruments_->failed(notification.priority, refused);
        const SendFailure failure{notification.message_id,
                                  notification.event_type,
                                  notification.priority,
                                  std::move(message.routing_key),
                                  refused,
                                  std::move(reason)};
        complete(refused, &failure);
      }
      continue;
    }
    sent_.fetch_add(1, std::memory_order_relaxed);
    std::chrono::steady_clock::time_point sent_at{};
    if (instruments_) {
      instruments_->sent(notification.priority);
      sent_at = std::chrono::steady_clock::now();
    }
    auto self = shared_from_this();
    // The failure record is built only when needed: the success path stays allocation-light.
    // Its three strings travel as one, message_id + routing_key + event_type, split by the
    // captured lengths: one allocation instead of three.
    const std::size_t id_size = notification.message_id.size();
    const std::size_t rk_size = message.routing_key.size();
    std::string failure_text;
    failure_text.reserve(id_size + rk_size + notification.event_type.size());
    failure_text.append(notification.message_id).append(message.routing_key).append(notification.event_type);
    driver.send(std::move(message), [self = std::move(self), text = std::move(failure_text), id_size, rk_size,
                                     p = notification.priority, sent_at](std::error_code ec, std::string_view reason) {
      self->observe(p, ec, sent_at);
      if (!ec) {
        self->complete(ec, nullptr);
      } else {
        const std::string_view all = text;
        SendFailure failure{std::string(all.substr(0, id_size)),
                            std::string(all.substr(id_size + rk_size)),
                            p,
                            std::string(all.substr(id_size, rk_size)),
                            ec,
                            std::string(reason)};
        self->complete(ec, &failure);
      }
    });
  }
}

void NotifierState::record_failure(const SendFailure& failure) {
  sent_.fetch_add(1, std::memory_order_relaxed);
  if (instruments_) {
    instruments_->sent(failure.priority);
    instruments_->failed(failure.priority, failure.error);
  }
  complete(failure.error, &failure);
}

void NotifierState::complete(std::error_code error, const SendFailure* failure) {
  if (error) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    // Never the payload: ids, event type and routing key identify the notification. One line
    // per cause and window at error level (a full queue fails thousands at once); each id at debug.
    logger_->debug("notification {} ({} to {}) failed: {}", failure->message_id, failure->event_type,
                   failure->routing_key, error.message());
    log_failure(error, *failure);
    if (options_.on_error) {
      try {
        options_.on_error(*failure);
      } catch (...) {
        logger_->error("notifier on_error callback threw; ignored");
      }
    }
  } else {
    confirmed_.fetch_add(1, std::memory_order_relaxed);
    // flush() waits for nothing pending: only the outcome that gets there wakes it (one wake
    // per confirmation cost a context switch each while a flush waited for an outbox). The
    // last outcome to be counted sees every send that preceded it, so one of them wakes it.
    if (sent_.load() != confirmed_.load() + failed_.load()) return;
  }
  std::lock_guard lock(flush_mutex_);
  if (error) {
    ++failed_since_flush_;
    last_error_ = error;
  }
  flush_cv_.notify_all();
}

void NotifierState::observe(Priority priority, std::error_code error,
                            std::chrono::steady_clock::time_point sent_at) noexcept {
  if (!instruments_) return;
  if (error)
    instruments_->failed(priority, error);
  else
    instruments_->confirmed(priority, std::chrono::steady_clock::now() - sent_at);
}

void NotifierState::log_failure(std::error_code error, const SendFailure& failure) {
  std::string cause =
      error.message() + (failure.reason.empty() ? "" : ": " + failure.reason) + " (" + failure.routing_key + ")";
  std::vector<std::string> lines;
  {
    std::lock_guard lock(failure_log_mutex_);
    auto now = std::chrono::steady_clock::now();
    lines = failure_log_.summaries(now);
    if (std::string line = failure_log_.record(cause, now); !line.empty()) lines.push_back(std::move(line));
  }
  for (const std::string& line : lines) logger_->error("{}", line);
}

FlushResult NotifierState::flush(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(failure_log_mutex_);
    for (const std::string& line : failure_log_.summaries(std::chrono::steady_clock::now(), true))
      logger_->error("{}", line);
  }
  if (outbox_) outbox_->commit_soon();  // what waits for the next group commit goes now
  std::unique_lock lock(flush_mutex_);
  auto pending = [&] { return sent_.load() - confirmed_.load() - failed_.load(); };
  flush_cv_.wait_for(lock, timeout, [&] { return pending() == 0; });
  FlushResult result;
  result.pending = pending();
  result.failed = failed_since_flush_;
  result.last_error = last_error_;
  failed_since_flush_ = 0;
  last_error_ = {};
  return result;
}

NotifierStats NotifierState::stats() const noexcept {
  NotifierStats s;
  s.notified = notified_.load();
  s.failed = failed_.load();
  s.confirmed = confirmed_.load();
  s.sent = sent_.load();
  s.pending = s.sent - s.confirmed - s.failed;
  return s;
}

}  // namespace detail

void NotificationCapture::record(const Notification& notification) {
  std::lock_guard lock(mutex_);
  notifications_.push_back(notification);
}

std::vector<Notification> NotificationCapture::notifications() const {
  std::lock_guard lock(mutex_);
  return notifications_;
}

std::size_t NotificationCapture::size() const {
  std::lock_guard lock(mutex_);
  return notifications_.size();
}

void NotificationCapture::clear() {
  std::lock_guard lock(mutex_);
  notifications_.clear();
}

namespace {

// Owned by the Notifier handles only (copies and prepare() share it). Callbacks reach the state
// through weak references, and one of them may hold the last strong one for a moment: closing
// the outbox here, when the last handle goes, keeps that on the thread dropping the handle, so
// the outbox's lock and files are released when ~Notifier returns.
struct NotifierHandles {
  std::shared_ptr<detail::NotifierState> state;
  ~NotifierHandles() {
    if (state->outbox()) state->outbox()->stop();
  }
};

}  // namespace

Notifier::Notifier(std::shared_ptr<Transport> transport, NotifierOptions options) {
  int retry = options.retry;
  std::string publisher_id = options.publisher_id;
  auto state = std::make_shared<detail::NotifierState>(std::move(transport), std::move(options));
  state->load_drivers();
  detail::NotifierState* raw = state.get();
  state_ = std::shared_ptr<detail::NotifierState>(std::make_shared<NotifierHandles>(std::move(state)), raw);
  publisher_id_ = std::move(publisher_id);
  retry_ = retry;
}

Notifier::Notifier(std::shared_ptr<detail::NotifierState> state, std::string publisher_id, int retry)
    : state_(std::move(state)), publisher_id_(std::move(publisher_id)), retry_(retry) {}

Notifier::~Notifier() = default;
Notifier::Notifier(const Notifier&) = default;
Notifier& Notifier::operator=(const Notifier&) = default;
Notifier::Notifier(Notifier&&) noexcept = default;
Notifier& Notifier::operator=(Notifier&&) noexcept = default;

Notifier Notifier::prepare(const PrepareOptions& overrides) const {
  int retry = overrides.retry.value_or(retry_);
  if (retry < -1) throw ConfigError("retry: must be -1 (forever), 0 or a positive count");
  return Notifier(state_, overrides.publisher_id.value_or(publisher_id_), retry);
}

namespace {

// Adds the members [begin, end) to the notification's context: copied, or moved when `Move`
// (then they must live in the notification's own pool). Keys that look like credentials are
// left out when `sanitize` (oslo 14's default).
template <bool Move, typename Member>
void add_context(Notification& notification, Member begin, Member end, bool sanitize) {
  rapidjson::Value& target = notification.context();
  auto& allocator = notification.allocator();
  for (auto it = begin; it != end; ++it) {
    if (sanitize && !detail::is_safe_context_key({it->name.GetString(), it->name.GetStringLength()})) continue;
    if constexpr (Move)
      target.AddMember(it->name, it->value, allocator);
    else
      target.AddMember(rapidjson::Value(it->name, allocator), rapidjson::Value(it->value, allocator), allocator);
  }
}

}  // namespace

void Notifier::notify(Priority priority, const rapidjson::Value& context, std::string_view event_type,
                      const rapidjson::Value& payload) {
  if (!context.IsObject()) throw ArgumentError("notify: context must be a JSON object");
  Notification notification;
  notification.priority = priority;
  notification.event_type = std::string(event_type);
  notification.set_payload(payload);
  add_context<false>(notification, context.MemberBegin(), context.MemberEnd(), state_->options().sanitize_context);
  send(std::move(notification));
}

void Notifier::notify(Priority priority, std::string_view context_json, std::string_view event_type,
                      std::string_view payload_json) {
  // The same parser as decode() (what one Herald sends, another or oslo can decode), straight
  // into the notification's own pool: nothing is parsed twice or deep-copied.
  Notification notification;
  notification.priority = priority;
  notification.event_type = std::string(event_type);
  try {
    rapidjson::Document payload(&notification.allocator());
    detail::parse_json_into(payload, payload_json, "notify: payload");
    notification.payload().Swap(payload);
    if (!context_json.empty()) {
      rapidjson::Document context(&notification.allocator());
      detail::parse_json_into(context, context_json, "notify: context");
      if (!context.IsObject()) throw ArgumentError("notify: context is not a JSON object");
      add_context<true>(notification, context.MemberBegin(), context.MemberEnd(), state_->options().sanitize_context);
    }
  } catch (const DecodeError& e) {
    throw ArgumentError(e.what());
  }
  send(std::move(notification));
}

void Notifier::send(Notification&& notification) {
  notification.message_id = state_->ids().message_id();
  notification.publisher_id = publisher_id_;
  notification.timestamp = format_timestamp(std::chrono::system_clock::now());
  state_->notify_all(notification, retry_);
}

bool Notifier::is_enabled() const noexcept { return state_->is_enabled(); }
FlushResult Notifier::flush(std::chrono::milliseconds timeout) { return state_->flush(timeout); }
NotifierStats Notifier::stats() const noexcept { return state_->stats(); }
std::optional<OutboxStats> Notifier::outbox_stats() const {
  if (!state_->outbox()) return std::nullopt;
  return state_->outbox()->stats();
}
std::shared_ptr<NotificationCapture> Notifier::capture() const noexcept { return state_->capture(); }

}  // namespace herald
