#include <herald/codec.hpp>
#include <herald/dispatcher.hpp>
#include <herald/error.hpp>
#include <herald/notification_server.hpp>

#include "core/logging.hpp"
#include "drivers/driver.hpp"
#include "drivers/listen_bindings.hpp"
#include "server/recent_keys.hpp"

#include <spdlog/logger.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace herald {
namespace detail {
namespace {

// A poll's batch is split evenly over the workers, in tasks of 16 to 64 messages: every task
// is a wake-up of a worker, so fewer, larger tasks cost less (16 → 64 gave +20 % end to end,
// bench/RESULTS.md), while a split per worker keeps them all busy.
constexpr std::size_t kMinTaskChunk = 16;
constexpr std::size_t kMaxTaskChunk = 64;
constexpr std::size_t kPollBatch = 256;
constexpr std::chrono::milliseconds kPollTimeout{100};

struct Counters {
  std::atomic<std::uint64_t> received{0}, handled{0}, filtered{0}, no_endpoint{0}, requeued{0}, requeue_refused{0},
      dead_lettered{0}, undecodable{0}, unknown_priority{0}, duplicates{0}, released{0};
};

std::string message_key(const Notification& n, const IncomingMessage& message) {
  if (!n.unique_id.empty()) return n.unique_id;
  if (!n.message_id.empty()) return n.message_id;
  return "body:" + std::to_string(std::hash<std::string>{}(message.body()));
}

}  // namespace

class ServerCore {
 public:
  ServerCore(std::shared_ptr<Transport> transport, std::vector<Target> targets, ServerOptions options,
             std::optional<Dispatcher> single, std::optional<BatchDispatcher> batch)
      : transport_(std::move(transport)),
        options_(std::move(options)),
        logger_(logger_or_default(options_.logger)),
        single_(std::move(single)),
        batch_(std::move(batch)),
        dedup_(options_.dedup_window),
        redeliveries_(std::max<std::size_t>(options_.credit_window * 16, 65536)) {
    if (!transport_) throw ConfigError("transport: a transport is required");
    if (options_.workers == 0) throw ConfigError("workers: must be at least 1");
    if (options_.batch_size == 0) throw ConfigError("batch_size: must be at least 1");
    if (options_.credit_window == 0) throw ConfigError("credit_window: must be at least 1");
    if (options_.batch_timeout.count() < 0) throw ConfigError("batch_timeout: must not be negative");
    if (targets.empty()) throw ConfigError("targets: at least one target is required");
    std::vector<Priority> priorities = single_ ? single_->priorities() : batch_->priorities();
    if (priorities.empty()) throw ConfigError("endpoints: no endpoint handles any priority");
    spec_.credit_window = options_.credit_window;
    spec_.bindings = listen_bindings(targets, priorities, options_.pool, transport_->options().control_exchange);
  }

  ~ServerCore() {
    stop();
    wait();
  }

  void start() {
    std::unique_lock lock(lifecycle_);
    if (state_ == State::running) return;
    if (state_ == State::stopped) join_locked(lock);
    if (state_ == State::joining) return;  // another thread is finishing a wait()
    listener_ = transport_->driver().listen(spec_);
    stopping_.store(false);
    pool_.emplace(options_.workers);
    poll_thread_ = std::thread([this] { poll_loop(); });
    state_ = State::running;
  }

  void stop() {
    std::lock_guard lock(lifecycle_);
    if (state_ != State::running) return;
    stopping_.store(true);
    listener_->stop();
    state_ = State::stopped;
    state_cv_.notify_all();
  }

  void wait() {
    std::unique_lock lock(lifecycle_);
    state_cv_.wait(lock, [&] { return state_ != State::running && state_ != State::joining; });
    if (state_ == State::stopped) join_locked(lock);
  }

  ServerStats stats() const noexcept {
    ServerStats s;
    s.received = counters_.received;
    s.handled = counters_.handled;
    s.filtered = counters_.filtered;
    s.no_endpoint = counters_.no_endpoint;
    s.requeued = counters_.requeued;
    s.requeue_refused = counters_.requeue_refused;
    s.dead_lettered = counters_.dead_lettered;
    s.undecodable = counters_.undecodable;
    s.unknown_priority = counters_.unknown_priority;
    s.duplicates = counters_.duplicates;
    s.released = counters_.released;
    return s;
  }

 private:
  enum class State { idle, running, stopped, joining };

  // Joins outside the lock so a handler may call stop() while wait() is joining.
  void join_locked(std::unique_lock<std::mutex>& lock) {
    state_ = State::joining;
    std::thread poller = std::move(poll_thread_);
    lock.unlock();
    if (poller.joinable()) poller.join();
    pool_->join();  // runs every task already submitted; stopping_ makes them release
    lock.lock();
    pool_.reset();
    listener_.reset();
    state_ = State::idle;
    state_cv_.notify_all();
  }

  void poll_loop() {
    try {
      if (single_)
        poll_single();
      else
        poll_batches();
    } catch (const std::exception& e) {
      // Listener threads never let an exception escape.
      logger_->error("notification server: poll loop failed: {}", e.what());
    }
  }

  void poll_single() {
    while (!stopping_.load(std::memory_order_relaxed)) {
      IncomingBatch batch = listener_->poll(kPollTimeout, kPollBatch);
      if (batch.empty()) continue;
      counters_.received.fetch_add(batch.size(), std::memory_order_relaxed);
      const std::size_t task_size =
          std::clamp((batch.size() + options_.workers - 1) / options_.workers, kMinTaskChunk, kMaxTaskChunk);
      for (std::size_t begin = 0; begin < batch.size(); begin += task_size) {
        auto chunk = std::make_shared<IncomingBatch>();
        std::size_t end = std::min(batch.size(), begin + task_size);
        chunk->reserve(end - begin);
        for (std::size_t i = begin; i < end; ++i) chunk->push_back(std::move(batch[i]));
        boost::asio::post(*pool_, [this, chunk] {
          for (auto& message : *chunk) process_one(*message);
        });
      }
    }
  }

  void poll_batches() {
    while (!stopping_.load(std::memory_order_relaxed)) {
      // oslo's batch_poll_helper: the timeout runs from the start of the poll, not from the
      // first message.
      auto deadline = std::chrono::steady_clock::now() + options_.batch_timeout;
      auto collected = std::make_shared<IncomingBatch>();
      while (collected->size() < options_.batch_size && !stopping_.load(std::memory_order_relaxed)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        IncomingBatch got = listener_->poll(std::min(left, kPollTimeout), options_.batch_size - collected->size());
        for (auto& m : got) collected->push_back(std::move(m));
      }
      if (collected->empty()) continue;
      counters_.received.fetch_add(collected->size(), std::memory_order_relaxed);
      boost::asio::post(*pool_, [this, collected] { process_batch(*collected); });
    }
  }

  // Decodes `message`; on failure dead-letters it with one warning and returns nullopt.
  std::optional<Notification> decode_or_dead_letter(IncomingMessage& message) {
    try {
      return decode(message.body());
    } catch (const Error& e) {
      bool unknown = e.code() == make_error_code(Errc::unknown_priority);
      (unknown ? counters_.unknown_priority : counters_.undecodable).fetch_add(1, std::memory_order_relaxed);
      counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
      logger_->warn("notification server: dead-lettering a message from queue '{}': {}", message.queue(), e.what());
      message.reject();
      return std::nullopt;
    }
  }

  // Returns true when the message is a duplicate (then it has been acked).
  bool skip_duplicate(IncomingMessage& message, const std::string& key) {
    if (options_.dedup_window == 0 || !dedup_.contains(key)) return false;
    counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
    message.ack();
    return true;
  }

  void ack_handled(IncomingMessage& message, const std::string& key) {
    message.ack();
    if (options_.dedup_window != 0) dedup_.increment(key);
  }

  void requeue_or_dead_letter(IncomingMessage& message, const Notification& n, const std::string& key) {
    if (!options_.allow_requeue) {
      counters_.requeue_refused.fetch_add(1, std::memory_order_relaxed);
      logger_->warn("notification server: requeue of {} ({}) asked but allow_requeue is false; acked", n.message_id,
                    n.event_type);
      message.ack();
      return;
    }
    std::uint32_t times = redeliveries_.increment(key);
    if (times > options_.max_redeliveries) {
      counters_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
      logger_->warn("notification server: {} ({}) requeued {} times, over max_redeliveries={}; dead-lettered",
                    n.message_id, n.event_type, times - 1, options_.max_redeliveries);
      message.reject();
      return;
    }
    counters_.requeued.fetch_add(1, std::memory_order_relaxed);
    message.requeue();
  }

  bool release_if_stopping(IncomingMessage& message) {
    if (!stopping_.load(std::memory_order_relaxed)) return false;
    counters_.released.fetch_add(1, std::memory_order_relaxed);
    message.requeue();
    return true;
  }

  void process_one(IncomingMessage& message) {
    if (release_if_stopping(message)) return;
    std::optional<Notification> n = decode_or_dead_letter(message);
    if (!n) return;
    std::string key = message_key(*n, message);
    if (skip_duplicate(message, key)) return;
    DispatchResult result = single_->dispatch(*n);
    if (result.result == Result::requeue) {
      requeue_or_dead_letter(message, *n, key);
      return;
    }
    if (result.called > 0)
      counters_.handled.fetch_add(1, std::memory_order_relaxed);
    else if (result.filtered_out > 0)
      counters_.filtered.fetch_add(1, std::memory_order_relaxed);
    else
      counters_.no_endpoint.fetch_add(1, std::memory_order_relaxed);
    ack_handled(message, key);
  }

  void process_batch(IncomingBatch& batch) {
    std::vector<IncomingMessage*> live;
    std::vector<Notification> notifications;
    std::vector<std::string> keys;
    live.reserve(batch.size());
    notifications.reserve(batch.size());
    for (auto& message : batch) {
      if (release_if_stopping(*message)) continue;
      std::optional<Notification> n = decode_or_dead_letter(*message);
      if (!n) continue;
      std::string key = message_key(*n, *message);
      if (skip_duplicate(*message, key)) continue;
      live.push_back(message.get());
      notifications.push_back(std::move(*n));
      keys.push_back(std::move(key));
    }
    if (live.empty()) return;
    std::vector<const Notification*> pointers;
    pointers.reserve(notifications.size());
    for (const Notification& n : notifications) pointers.push_back(&n);
    std::vector<Result> results = batch_->dispatch(pointers);
    for (std::size_t i = 0; i < live.size(); ++i) {
      if (results[i] == Result::requeue) {
        requeue_or_dead_letter(*live[i], notifications[i], keys[i]);
      } else {
        counters_.handled.fetch_add(1, std::memory_order_relaxed);
        ack_handled(*live[i], keys[i]);
      }
    }
  }

  std::shared_ptr<Transport> transport_;
  ServerOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::optional<Dispatcher> single_;
  std::optional<BatchDispatcher> batch_;
  ListenSpec spec_;
  RecentKeys dedup_;
  RecentKeys redeliveries_;
  Counters counters_;

  std::mutex lifecycle_;
  std::condition_variable state_cv_;
  State state_ = State::idle;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Listener> listener_;
  std::optional<boost::asio::thread_pool> pool_;
  std::thread poll_thread_;
};

}  // namespace detail

NotificationServer::NotificationServer(std::shared_ptr<Transport> transport, std::vector<Target> targets,
                                       std::vector<Endpoint> endpoints, ServerOptions options) {
  auto logger = detail::logger_or_default(options.logger);
  options.logger = logger;
  core_ = std::make_shared<detail::ServerCore>(std::move(transport), std::move(targets), std::move(options),
                                               std::optional<Dispatcher>(std::in_place, std::move(endpoints), logger),
                                               std::nullopt);
}

NotificationServer::NotificationServer(std::shared_ptr<Transport> transport, std::vector<Target> targets,
                                       std::vector<BatchEndpoint> endpoints, ServerOptions options) {
  auto logger = detail::logger_or_default(options.logger);
  options.logger = logger;
  core_ =
      std::make_shared<detail::ServerCore>(std::move(transport), std::move(targets), std::move(options), std::nullopt,
                                           std::optional<BatchDispatcher>(std::in_place, std::move(endpoints), logger));
}

NotificationServer::~NotificationServer() = default;
void NotificationServer::start() { core_->start(); }
void NotificationServer::stop() { core_->stop(); }
void NotificationServer::wait() { core_->wait(); }
ServerStats NotificationServer::stats() const noexcept { return core_->stats(); }

}  // namespace herald
