#include <herald/codec.hpp>
#include <herald/dispatcher.hpp>
#include <herald/error.hpp>
#include <herald/notification_server.hpp>

#include "core/logging.hpp"
#include "metrics/instruments.hpp"
#include "server/recent_keys.hpp"
#include "transports/listen_bindings.hpp"
#include "transports/transport_driver.hpp"

#include <spdlog/logger.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace herald {
namespace detail {
namespace {

// In single mode every worker polls the listener itself and handles what it took: no thread
// between the listener and the handlers. A worker takes at most this many at a time, so that
// a burst is shared among the workers rather than taken by the first one awake.
constexpr std::size_t kWorkerPollBatch = 32;
constexpr std::chrono::milliseconds kPollTimeout{100};

using Clock = std::chrono::steady_clock;

struct Counters {
  std::atomic<std::uint64_t> received{0}, handled{0}, filtered{0}, no_endpoint{0}, requeued{0}, requeue_refused{0},
      dead_lettered{0}, undecodable{0}, unknown_priority{0}, duplicates{0}, released{0};
};

std::string message_key(const Notification& n, const IncomingMessage& message) {
  if (!n.unique_id.empty()) return n.unique_id;
  if (!n.message_id.empty()) return n.message_id;
  return "body:" + std::to_string(std::hash<std::string>{}(message.body()));
}

std::int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

// `<topic>.broadcast.<12 random hex digits>`: one per server instance, never shared.
std::string broadcast_queue_name(const std::string& topic) {
  std::random_device random;
  std::uint64_t bits = (static_cast<std::uint64_t>(random()) << 32) ^ random();
  char hex[13];
  std::snprintf(hex, sizeof hex, "%012llx", static_cast<unsigned long long>(bits & 0xffffffffffffULL));
  return topic + ".broadcast." + hex;
}

// ServerOptions::metrics, else the transport's; null when neither has a handle.
std::shared_ptr<ServerInstruments> server_instruments(const std::shared_ptr<Transport>& transport,
                                                      ServerOptions& options) {
  if (!options.metrics && transport) options.metrics = transport->options().metrics;
  return options.metrics ? std::make_shared<ServerInstruments>(options.metrics) : nullptr;
}

// Wraps every handler so that its duration lands in herald_handler_duration_seconds{endpoint}
// (the series is resolved once per endpoint here, not per call). dispatch/ stays free of clocks.
template <typename HandlerT>
std::vector<BasicEndpoint<HandlerT>> timed(std::vector<BasicEndpoint<HandlerT>> endpoints,
                                           const std::shared_ptr<ServerInstruments>& instruments) {
  if (!instruments) return endpoints;
  for (auto& endpoint : endpoints) {
    prometheus::Histogram* series = instruments->handler_duration(endpoint.name());
    for (Priority priority : kAllPriorities) {
      const HandlerT* handler = endpoint.handler(priority);
      if (handler == nullptr) continue;
      endpoint.on(priority, HandlerT([inner = *handler, series](auto&&... args) {
                    struct ObserveOnExit {  // also when the handler throws
                      prometheus::Histogram* series;
                      Clock::time_point start = Clock::now();
                      ~ObserveOnExit() { ServerInstruments::observe(series, Clock::now() - start); }
                    } observe{series};
                    return inner(std::forward<decltype(args)>(args)...);
                  }));
    }
  }
  return endpoints;
}

}  // namespace

// How a server hands messages to its endpoints: the strategy, chosen once at construction.
// Single: `workers` threads each poll the listener and dispatch what they took, one by one.
struct SingleMode {
  SingleMode(std::vector<Endpoint> endpoints, std::shared_ptr<spdlog::logger> logger)
      : dispatcher(std::move(endpoints), std::move(logger)) {}
  Dispatcher dispatcher;
};
// Batch: one poll thread collects up to batch_size messages or waits batch_timeout (oslo's
// batch_poll_helper), and each batch goes to a pool of `workers` threads, to the batch
// endpoints as one call per priority.
struct BatchMode {
  BatchMode(std::vector<BatchEndpoint> endpoints, std::shared_ptr<spdlog::logger> logger)
      : dispatcher(std::move(endpoints), std::move(logger)) {}
  BatchDispatcher dispatcher;
};
using DispatchMode = std::variant<SingleMode, BatchMode>;

class ServerRuntime {
 public:
  /// `Mode` (SingleMode or BatchMode) is built in place from `mode_args`.
  template <typename Mode, typename... ModeArgs>
  ServerRuntime(std::shared_ptr<Transport> transport, std::vector<Target> targets, ServerOptions options,
                std::shared_ptr<ServerInstruments> instruments, std::in_place_type_t<Mode> mode,
                ModeArgs&&... mode_args)
      : transport_(std::move(transport)),
        options_(std::move(options)),
        logger_(logger_or_default(options_.logger)),
        instruments_(std::move(instruments)),
        mode_(mode, std::forward<ModeArgs>(mode_args)...),
        dedup_(options_.dedup_window),
        redeliveries_(std::max<std::size_t>(options_.credit_window * 16, 65536)) {
    if (!transport_) throw ConfigError("transport: a transport is required");
    if (options_.workers == 0) throw ConfigError("workers: must be at least 1");
    if (options_.batch_size == 0) throw ConfigError("batch_size: must be at least 1");
    if (options_.credit_window == 0) throw ConfigError("credit_window: must be at least 1");
    if (options_.batch_timeout.count() < 0) throw ConfigError("batch_timeout: must not be negative");
    if (targets.empty()) throw ConfigError("targets: at least one target is required");
    std::vector<Priority> priorities = std::visit([](const auto& m) { return m.dispatcher.priorities(); }, mode_);
    if (priorities.empty()) throw ConfigError("endpoints: no endpoint handles any priority");
    spec_.credit_window = options_.credit_window;
    if (options_.broadcast && !options_.pool.empty())
      throw ConfigError("broadcast: a broadcast server has a queue of its own; it cannot also join pool '" +
                        options_.pool + "'");
    spec_.bindings = listen_bindings(targets, priorities, options_.pool, transport_->options().control_exchange,
                                     options_.broadcast ? broadcast_queue_name(targets.front().topic) : "");
  }

  ~ServerRuntime() {
    stop(std::chrono::milliseconds(0));
    wait_until(std::nullopt);
  }

  void start() {
    std::unique_lock lock(lifecycle_);
    if (state_ == State::running) return;
    if (state_ == State::stopped) join_locked(lock);
    if (state_ == State::joining) return;  // another thread is finishing a wait()
    listener_ = transport_->driver().listen(spec_);
    stopping_.store(false);
    release_at_.store(ticks(Clock::time_point::max()));
    const bool batch = std::holds_alternative<BatchMode>(mode_);
    if (batch) pool_.emplace(options_.workers);
    const std::size_t pollers = batch ? 1 : options_.workers;
    busy_.store(pollers);
    for (std::size_t i = 0; i < pollers; ++i) pollers_.emplace_back([this] { poll_loop(); });
    state_ = State::running;
  }

  // Stopping is two steps in time: until `drain` has passed, messages already taken are still
  // handled; after it they are released unhandled. A later stop() may only shorten the drain.
  void stop(std::chrono::milliseconds drain) {
    std::lock_guard lock(lifecycle_);
    if (state_ == State::idle) return;
    const std::int64_t release_at = ticks(Clock::now() + std::max(drain, std::chrono::milliseconds(0)));
    if (release_at < release_at_.load()) release_at_.store(release_at);
    if (state_ != State::running) return;
    // No more credit; the polling threads take what was prefetched until it is used up or the
    // drain has passed, then the first one out stops the listener (the rest goes back).
    stopping_.store(true);
    try {
      listener_->pause();
    } catch (const std::exception& e) {
      logger_->error("notification server: pausing the listener failed: {}", e.what());
    }
    state_ = State::stopped;
    state_cv_.notify_all();
  }

  // Waits until the poll thread and every task have finished, then joins them. False when
  // `deadline` passed first (a handler is still running); the server stays stopped.
  bool wait_until(std::optional<Clock::time_point> deadline) {
    std::unique_lock lock(lifecycle_);
    auto stopped = [&] { return state_ != State::running && state_ != State::joining; };
    if (!wait_on(state_cv_, lock, deadline, stopped)) return false;
    if (state_ == State::idle) return true;
    lock.unlock();  // a handler may call stop() meanwhile
    {
      std::unique_lock idle(idle_mutex_);
      if (!wait_on(idle_cv_, idle, deadline, [&] { return busy_.load() == 0; })) return false;
    }
    lock.lock();
    if (state_ == State::stopped) join_locked(lock);
    return wait_on(state_cv_, lock, deadline, stopped);
  }

  ServerStats stats() const noexcept {
    // Outcomes first, then what leads to them (requeued, then received): counted in the other
    // order, so a snapshot never shows an outcome without the requeue or receipt before it.
    ServerStats s;
    s.in_progress = in_progress_.load();
    s.handled = counters_.handled;
    s.filtered = counters_.filtered;
    s.no_endpoint = counters_.no_endpoint;
    s.requeue_refused = counters_.requeue_refused;
    s.dead_lettered = counters_.dead_lettered;
    s.undecodable = counters_.undecodable;
    s.unknown_priority = counters_.unknown_priority;
    s.duplicates = counters_.duplicates;
    s.released = counters_.released;
    s.requeued = counters_.requeued;
    s.received = counters_.received;
    return s;
  }

 private:
  enum class State { idle, running, stopped, joining };

  template <typename Lock, typename Predicate>
  static bool wait_on(std::condition_variable& cv, Lock& lock, std::optional<Clock::time_point> deadline,
                      Predicate done) {
    if (!deadline) {
      cv.wait(lock, done);
      return true;
    }
    return cv.wait_until(lock, *deadline, done);
  }

  // One task (or polling thread) finished; the last one wakes wait_until().
  void finish_task() {
    if (busy_.fetch_sub(1) != 1) return;
    std::lock_guard idle(idle_mutex_);
    idle_cv_.notify_all();
  }

  template <typename Task>
  void post_task(Task task) {
    busy_.fetch_add(1);
    boost::asio::post(*pool_, [this, task = std::move(task)]() mutable {
      task();
      finish_task();
    });
  }

  // Joins outside the lock so a handler may call stop() while wait() is joining.
  void join_locked(std::unique_lock<std::mutex>& lock) {
    state_ = State::joining;
    std::vector<std::thread> pollers = std::move(pollers_);
    pollers_.clear();
    lock.unlock();
    for (std::thread& poller : pollers)
      if (poller.joinable()) poller.join();
    if (pool_) pool_->join();  // runs every task already submitted; stopping_ makes them release
    lock.lock();
    pool_.reset();
    listener_.reset();
    state_ = State::idle;
    state_cv_.notify_all();
  }

  void poll_loop() {
    try {
      std::visit([this](auto& m) { poll(m); }, mode_);
    } catch (const std::exception& e) {
      // Listener threads never let an exception escape.
      logger_->error("notification server: poll loop failed: {}", e.what());
    }
    // Stops credit: prefetched deliveries go back; those taken stay settleable (on amqp the
    // links detach once they are settled, which this call may wait for). The first polling
    // thread out stops it for all (stop() is idempotent; the others' blocked polls return).
    try {
      // Deliveries the transport prefetched and no worker took went back to their queue:
      // received by this server and released, so the summary tells where they went.
      if (const std::size_t returned = listener_->stop(); returned != 0) {
        took(returned);
        for (std::size_t i = 0; i < returned; ++i) count(Settlement::released);
      }
    } catch (const std::exception& e) {
      logger_->error("notification server: stopping the listener failed: {}", e.what());
    }
    finish_task();
  }

  void took(std::size_t count) {
    counters_.received.fetch_add(count, std::memory_order_relaxed);
    in_progress_.fetch_add(count, std::memory_order_relaxed);
    if (instruments_) instruments_->received(count);
  }

  // Every message taken ends here exactly once, after it was settled and logged: whoever sees a
  // count in stats() also sees the settlement and the log line. The one exception is a requeue,
  // counted just before the message goes back (see requeue_or_dead_letter).
  void count(Settlement settlement) {
    std::atomic<std::uint64_t>* counter = nullptr;
    switch (settlement) {
      case Settlement::handled:
        counter = &counters_.handled;
        break;
      case Settlement::filtered:
        counter = &counters_.filtered;
        break;
      case Settlement::no_endpoint:
        counter = &counters_.no_endpoint;
        break;
      case Settlement::requeue_refused:
        counter = &counters_.requeue_refused;
        break;
      case Settlement::requeued:
        counter = &counters_.requeued;
        break;
      case Settlement::duplicate:
        counter = &counters_.duplicates;
        break;
      case Settlement::released:
        counter = &counters_.released;
        break;
      case Settlement::undecodable:
        counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
        counter = &counters_.undecodable;
        break;
      case Settlement::unknown_priority:
        counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
        counter = &counters_.unknown_priority;
        break;
      case Settlement::redelivery_limit:
        counter = &counters_.dead_lettered;
        break;
    }
    counter->fetch_add(1, std::memory_order_relaxed);
    in_progress_.fetch_sub(1, std::memory_order_relaxed);
    if (instruments_) instruments_->settled(settlement);
  }

  // Whether a polling thread goes on: always while running; while stopping, until the drain has
  // passed or (`drained`) its last poll found nothing left of what the listener prefetched.
  bool keep_polling(bool drained) const {
    if (!stopping_.load(std::memory_order_relaxed)) return true;
    return !drained && ticks(Clock::now()) < release_at_.load();
  }

  // A worker: polls and handles what it took, until stopped and drained.
  void poll(SingleMode& mode) {
    bool drained = false;
    while (keep_polling(drained)) {
      IncomingBatch batch = listener_->poll(kPollTimeout, kWorkerPollBatch);
      drained = batch.empty();
      if (batch.empty()) continue;
      took(batch.size());
      for (auto& message : batch) process_one(mode, *message);
    }
  }

  void poll(BatchMode& mode) {
    bool drained = false;
    while (keep_polling(drained)) {
      // oslo's batch_poll_helper: the timeout runs from the start of the poll, not from the
      // first message.
      auto deadline = std::chrono::steady_clock::now() + options_.batch_timeout;
      auto collected = std::make_shared<IncomingBatch>();
      drained = false;
      bool polled = false;
      while (collected->size() < options_.batch_size && !drained) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 && polled) break;
        // Every batch polls at least once: with batch_timeout 0 that poll waits for the first
        // message (as a poll without a batch would) and the batch is what was ready then.
        IncomingBatch got = listener_->poll(left.count() > 0 ? std::min(left, kPollTimeout) : kPollTimeout,
                                            options_.batch_size - collected->size());
        polled = true;
        // Stopping: an empty poll means nothing prefetched is left; hand over what was collected.
        drained = got.empty() && stopping_.load(std::memory_order_relaxed);
        for (auto& m : got) collected->push_back(std::move(m));
      }
      if (collected->empty()) {
        drained = stopping_.load(std::memory_order_relaxed);
        continue;
      }
      took(collected->size());
      post_task([this, &mode, collected] { process_batch(mode, *collected); });
    }
  }

  // Decodes `message`; on failure dead-letters it with one warning and returns nullopt.
  std::optional<Notification> decode_or_dead_letter(IncomingMessage& message) {
    try {
      Notification n = decode(message.body());
      n.delivery_count = message.delivery_count();
      return n;
    } catch (const Error& e) {
      // Log and settle first: a reader of stats() that sees the count must also see the line.
      logger_->warn("notification server: dead-lettering a message from queue '{}': {}", message.queue(), e.what());
      message.reject();
      count(e.errc() == Errc::unknown_priority ? Settlement::unknown_priority : Settlement::undecodable);
      return std::nullopt;
    }
  }

  // Returns true when the message is a duplicate (then it has been acked): its key was acked
  // recently, or (`earlier_in_batch`) an earlier message of the same batch has it; single mode
  // would have acked that one before taking this one, so both modes count it the same.
  bool skip_duplicate(IncomingMessage& message, const std::string& key, bool earlier_in_batch = false) {
    if (options_.dedup_window == 0 || !(earlier_in_batch || dedup_.contains(key))) return false;
    message.ack();
    count(Settlement::duplicate);
    return true;
  }

  void ack_handled(IncomingMessage& message, const std::string& key) {
    message.ack();
    if (options_.dedup_window != 0) dedup_.increment(key);
  }

  void requeue_or_dead_letter(IncomingMessage& message, const Notification& n, const std::string& key) {
    if (!options_.allow_requeue) {
      logger_->warn("notification server: requeue of {} ({}) asked but allow_requeue is false; acked", n.message_id,
                    n.event_type);
      message.ack();
      count(Settlement::requeue_refused);
      return;
    }
    // This server's own count, or the broker's where it counts (RabbitMQ 4: across the fleet).
    std::uint32_t times = std::max(redeliveries_.increment(key), message.delivery_count() + 1);
    if (times > options_.max_redeliveries) {
      logger_->warn("notification server: {} ({}) requeued {} times, over max_redeliveries={}; dead-lettered",
                    n.message_id, n.event_type, times - 1, options_.max_redeliveries);
      message.reject();
      count(Settlement::redelivery_limit);
      return;
    }
    // Counted before it goes back: another worker may take the redelivery at once, and what
    // becomes of it (handled, dead-lettered at the limit) must never be counted before the
    // requeue that caused it.
    count(Settlement::requeued);
    message.requeue();
  }

  // While stopping, messages are still handled until the drain deadline, then released.
  bool release_if_stopping(IncomingMessage& message) {
    if (!stopping_.load(std::memory_order_relaxed)) return false;
    if (ticks(Clock::now()) < release_at_.load()) return false;
    message.requeue();
    count(Settlement::released);
    return true;
  }

  // Settles a dispatched message; one rule for single and batch mode, so that both count the
  // same: handled when a handler ran, filtered when every endpoint's filter said no, no_endpoint
  // when no endpoint handles its priority.
  void settle(IncomingMessage& message, const Notification& n, const std::string& key, const DispatchResult& result) {
    if (result.result == Result::requeue) {
      requeue_or_dead_letter(message, n, key);
      return;
    }
    ack_handled(message, key);
    if (result.called > 0)
      count(Settlement::handled);
    else if (result.filtered_out > 0)
      count(Settlement::filtered);
    else
      count(Settlement::no_endpoint);
  }

  void process_one(const SingleMode& mode, IncomingMessage& message) {
    if (release_if_stopping(message)) return;
    std::optional<Notification> n = decode_or_dead_letter(message);
    if (!n) return;
    std::string key = message_key(*n, message);
    if (skip_duplicate(message, key)) return;
    settle(message, *n, key, mode.dispatcher.dispatch(*n));
  }

  void process_batch(const BatchMode& mode, IncomingBatch& batch) {
    std::vector<IncomingMessage*> live;
    std::vector<Notification> notifications;
    std::vector<std::string> keys;
    std::unordered_set<std::string> batch_keys;
    live.reserve(batch.size());
    notifications.reserve(batch.size());
    for (auto& message : batch) {
      if (release_if_stopping(*message)) continue;
      std::optional<Notification> n = decode_or_dead_letter(*message);
      if (!n) continue;
      std::string key = message_key(*n, *message);
      if (skip_duplicate(*message, key, batch_keys.contains(key))) continue;
      if (options_.dedup_window != 0) batch_keys.insert(key);
      live.push_back(message.get());
      notifications.push_back(std::move(*n));
      keys.push_back(std::move(key));
    }
    if (live.empty()) return;
    std::vector<const Notification*> pointers;
    pointers.reserve(notifications.size());
    for (const Notification& n : notifications) pointers.push_back(&n);
    std::vector<DispatchResult> results = mode.dispatcher.dispatch_each(pointers);
    for (std::size_t i = 0; i < live.size(); ++i) settle(*live[i], notifications[i], keys[i], results[i]);
  }

  std::shared_ptr<Transport> transport_;
  ServerOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<ServerInstruments> instruments_;
  DispatchMode mode_;
  ListenSpec spec_;
  RecentKeys dedup_;
  RecentKeys redeliveries_;
  Counters counters_;
  std::atomic<std::uint64_t> in_progress_{0};  // taken, not settled yet

  std::mutex lifecycle_;
  std::condition_variable state_cv_;
  State state_ = State::idle;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> release_at_{0};  // steady-clock ticks after which stopping releases
  std::atomic<std::size_t> busy_{0};         // polling threads + tasks posted and not finished
  std::mutex idle_mutex_;
  std::condition_variable idle_cv_;
  std::unique_ptr<Listener> listener_;
  std::optional<boost::asio::thread_pool> pool_;  // batch mode's workers
  std::vector<std::thread> pollers_;              // single mode: the workers; batch mode: one poller
};

}  // namespace detail

NotificationServer::NotificationServer(std::shared_ptr<Transport> transport, std::vector<Target> targets,
                                       std::vector<Endpoint> endpoints, ServerOptions options) {
  auto logger = detail::logger_or_default(options.logger);
  options.logger = logger;
  auto instruments = detail::server_instruments(transport, options);
  auto timed_endpoints = detail::timed(std::move(endpoints), instruments);
  runtime_ = std::make_shared<detail::ServerRuntime>(std::move(transport), std::move(targets), std::move(options),
                                                     instruments, std::in_place_type<detail::SingleMode>,
                                                     std::move(timed_endpoints), logger);
}

NotificationServer::NotificationServer(std::shared_ptr<Transport> transport, std::vector<Target> targets,
                                       std::vector<BatchEndpoint> endpoints, ServerOptions options) {
  auto logger = detail::logger_or_default(options.logger);
  options.logger = logger;
  auto instruments = detail::server_instruments(transport, options);
  auto timed_endpoints = detail::timed(std::move(endpoints), instruments);
  runtime_ = std::make_shared<detail::ServerRuntime>(std::move(transport), std::move(targets), std::move(options),
                                                     instruments, std::in_place_type<detail::BatchMode>,
                                                     std::move(timed_endpoints), logger);
}

NotificationServer::~NotificationServer() = default;
void NotificationServer::start() { runtime_->start(); }
void NotificationServer::stop() { runtime_->stop(std::chrono::milliseconds(0)); }
void NotificationServer::stop(std::chrono::milliseconds drain_timeout) { runtime_->stop(drain_timeout); }
void NotificationServer::wait() { runtime_->wait_until(std::nullopt); }
bool NotificationServer::wait_for(std::chrono::milliseconds timeout) {
  return runtime_->wait_until(std::chrono::steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0)));
}
ServerStats NotificationServer::stats() const noexcept { return runtime_->stats(); }

}  // namespace herald
