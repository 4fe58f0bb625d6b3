#include "transports/memory/memory_driver.hpp"

#include "core/logging.hpp"
#include "transports/dead_letter_backend.hpp"
#include "transports/driver_factories.hpp"

#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace herald::detail {
namespace {

enum class OverflowPolicy { block, reject, drop_head };

struct MemoryOptions {
  std::size_t max_depth = 100'000;
  OverflowPolicy overflow = OverflowPolicy::block;
  std::string dead_letter_queue = "herald.dead_letter";
  bool declare_on_send = true;
  std::chrono::milliseconds send_timeout{10'000};
};

MemoryOptions parse_options(const TransportUrl& url, const TransportOptions& transport_options) {
  MemoryOptions options;
  options.send_timeout = transport_options.send_timeout;
  for (const auto& [key, value] : url.options()) {
    if (key == "max_depth") {
      std::size_t depth = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), depth);
      if (ec != std::errc{} || end != value.data() + value.size())
        throw ConfigError("memory:// option max_depth: not a number: '" + value + "'");
      options.max_depth = depth;
    } else if (key == "overflow") {
      if (value == "block")
        options.overflow = OverflowPolicy::block;
      else if (value == "reject")
        options.overflow = OverflowPolicy::reject;
      else if (value == "drop_head")
        options.overflow = OverflowPolicy::drop_head;
      else
        throw ConfigError("memory:// option overflow: expected block, reject or drop_head, got '" + value + "'");
    } else if (key == "dead_letter_queue") {
      if (value.empty()) throw ConfigError("memory:// option dead_letter_queue: must not be empty");
      options.dead_letter_queue = value;
    } else if (key == "declare_on_send") {
      if (value != "true" && value != "false")
        throw ConfigError("memory:// option declare_on_send: expected true or false, got '" + value + "'");
      options.declare_on_send = value == "true";
    } else {
      throw ConfigError("memory:// unknown option '" + key + "'");
    }
  }
  return options;
}

struct Queue;
struct Route;

enum class DeadLetterReason : std::uint8_t { none, rejected, maxlen };

struct Entry {
  std::string body;
  // Publication order within the broker: a requeued message goes back to its old position,
  // as on RabbitMQ's classic queues, so releasing several messages keeps their order.
  std::uint64_t seq = 0;
  bool redelivered = false;
  DeadLetterReason reason = DeadLetterReason::none;
  const Route* route = nullptr;               // where it was published (outlives every entry)
  const Queue* dead_lettered_from = nullptr;  // set on dead-letter queue entries
};

struct Queue {
  explicit Queue(std::string queue_name) : name(std::move(queue_name)) {}
  std::string name;
  std::deque<Entry> ready;  // sorted by seq
  // How many messages the polls woken for this queue, and not yet running, will take at most:
  // an arrival wakes another poll only when the ready messages exceed it.
  std::size_t promised = 0;
};

// The queues bound to one (exchange, routing key); found with one lookup per level and no
// allocation once it exists. Routes live as long as the broker.
struct Route {
  std::string exchange;
  std::string routing_key;
  std::vector<Queue*> queues;
  bool declared_on_send = false;
};

std::string_view to_string(DeadLetterReason reason) {
  switch (reason) {
    case DeadLetterReason::rejected:
      return "rejected";
    case DeadLetterReason::maxlen:
      return "maxlen";
    case DeadLetterReason::none:
      break;
  }
  return {};
}

// A poll waiting for a message in one of `queues`; lives on the polling thread's stack.
struct Waiter {
  Waiter(const std::vector<Queue*>& polled, std::size_t at_most) : queues(polled), max(at_most) {}
  const std::vector<Queue*>& queues;
  const std::size_t max;  // the most it takes
  std::condition_variable cv;
  bool woken = false;          // taken out of the line by an arrival (or a wake-up of all)
  Queue* woken_for = nullptr;  // the queue whose arrival woke it
  Waiter* previous = nullptr;
  Waiter* next = nullptr;
};

// The polls waiting for messages, longest-waiting first (an intrusive list: waiting costs no
// allocation). Guarded by the broker's mutex.
class WaitLine {
 public:
  bool empty() const noexcept { return first_ == nullptr; }

  void push_back(Waiter& waiter) noexcept {
    waiter.previous = last_;
    waiter.next = nullptr;
    (last_ ? last_->next : first_) = &waiter;
    last_ = &waiter;
  }

  void erase(Waiter& waiter) noexcept {
    (waiter.previous ? waiter.previous->next : first_) = waiter.next;
    (waiter.next ? waiter.next->previous : last_) = waiter.previous;
    waiter.previous = waiter.next = nullptr;
  }

  /// Wakes and removes the first waiter polling `queue`; nullptr when none does.
  Waiter* wake_first_of(Queue& queue) noexcept {
    for (Waiter* waiter = first_; waiter != nullptr; waiter = waiter->next) {
      if (std::find(waiter->queues.begin(), waiter->queues.end(), &queue) == waiter->queues.end()) continue;
      waiter->woken_for = &queue;
      wake(*waiter);
      return waiter;
    }
    return nullptr;
  }

  void notify_all() noexcept {
    while (first_ != nullptr) wake(*first_);
  }

 private:
  void wake(Waiter& waiter) noexcept {
    erase(waiter);
    waiter.woken = true;
    waiter.cv.notify_one();
  }

  Waiter* first_ = nullptr;
  Waiter* last_ = nullptr;
};

// The broker state; shared with listeners and in-flight messages, which may outlive the driver.
class Broker : public std::enable_shared_from_this<Broker> {
 public:
  Broker(MemoryOptions options, std::shared_ptr<spdlog::logger> logger)
      : options_(std::move(options)), logger_(std::move(logger)) {
    dead_letter_ = &declare_locked(options_.dead_letter_queue);
  }

  std::error_code publish(OutgoingMessage& message) {
    std::unique_lock lock(mutex_);
    Route& route = route_locked(message.exchange, message.routing_key);
    if (options_.declare_on_send && !route.declared_on_send) {
      bind_locked(route, declare_locked(message.routing_key), false);
      route.declared_on_send = true;
    }
    ++stats_.published;
    if (route.queues.empty()) {
      ++stats_.unroutable;
      return {};
    }
    const std::vector<Queue*>& targets = route.queues;
    if (options_.max_depth != 0 && options_.overflow != OverflowPolicy::drop_head) {
      auto has_room = [&] {
        for (Queue* q : targets)
          if (q->ready.size() >= options_.max_depth) return false;
        return true;
      };
      if (!has_room()) {
        bool ok = false;
        if (options_.overflow == OverflowPolicy::block) {
          ++waiting_senders_;
          ok = space_cv_.wait_for(lock, options_.send_timeout, [&] { return has_room() || closed_; }) && !closed_;
          --waiting_senders_;
        }
        if (!ok) {
          ++stats_.overflow_rejected;
          return make_error_code(Errc::overflow);
        }
      }
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      Queue& queue = *targets[i];
      if (options_.max_depth != 0 && queue.ready.size() >= options_.max_depth) {  // drop_head
        Entry oldest = std::move(queue.ready.front());
        queue.ready.pop_front();
        dead_letter_locked(std::move(oldest), queue, DeadLetterReason::maxlen);
      }
      // The last target takes the body by move; fan-out copies.
      Entry entry;
      entry.body = i + 1 == targets.size() ? std::move(message.body) : message.body;
      entry.seq = next_seq_++;
      entry.route = &route;
      queue.ready.push_back(std::move(entry));
      wake_for_locked(queue);
    }
    return {};
  }

  void subscribe(const std::vector<QueueBinding>& bindings, std::vector<Queue*>& queues) {
    std::lock_guard lock(mutex_);
    for (const QueueBinding& binding : bindings) {
      Queue& queue = declare_locked(binding.queue);
      if (!binding.routing_key.empty()) bind_locked(route_locked(binding.exchange, binding.routing_key), queue, true);
      if (std::find(queues.begin(), queues.end(), &queue) == queues.end()) queues.push_back(&queue);
    }
  }

  // A stopped broadcast listener's queue stops receiving (what it holds stays until the
  // transport closes: deliveries may still refer to it).
  void unbind_broadcast(const std::vector<QueueBinding>& bindings) {
    std::lock_guard lock(mutex_);
    for (const QueueBinding& binding : bindings) {
      if (!binding.broadcast) continue;
      auto queue = queues_.find(binding.queue);
      if (queue == queues_.end()) continue;
      Route& route = route_locked(binding.exchange, binding.routing_key);
      std::erase(route.queues, queue->second.get());
    }
  }

  // Takes up to `max` messages from `queues`, round-robin starting at `cursor`.
  template <typename Make>
  void take(std::vector<Queue*>& queues, std::size_t& cursor, std::size_t max, std::chrono::milliseconds timeout,
            const std::atomic<bool>& stopped, Make&& make) {
    std::unique_lock lock(mutex_);
    auto available = [&] {
      for (Queue* q : queues)
        if (!q->ready.empty()) return true;
      return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!available() && !stopped && !closed_) {
      // Wait in line: arrivals wake the longest-waiting poll of their queue, so the listeners
      // of one queue (a pool, a server's workers) take turns, and a message wakes one thread,
      // not all of them.
      Waiter waiter(queues, max);
      waiters_.push_back(waiter);
      const bool in_time = waiter.cv.wait_until(lock, deadline, [&] { return waiter.woken || stopped || closed_; });
      if (!waiter.woken) waiters_.erase(waiter);
      if (waiter.woken_for != nullptr) waiter.woken_for->promised -= waiter.max;
      if (!in_time) break;
    }
    if (stopped) return;
    std::size_t taken = 0;
    std::size_t empty_in_a_row = 0;
    while (taken < max && empty_in_a_row < queues.size()) {
      Queue& queue = *queues[cursor % queues.size()];
      if (queue.ready.empty()) {
        ++empty_in_a_row;
        ++cursor;
        continue;
      }
      empty_in_a_row = 0;
      Entry entry = std::move(queue.ready.front());
      queue.ready.pop_front();
      make(std::move(entry), queue);
      ++taken;
      if (taken % 16 == 0) ++cursor;  // fairness across queues without thrashing
    }
    // What this poll left (it may take less than was promised for it) gets another poll.
    for (Queue* queue : queues) wake_for_locked(*queue);
    if (taken && waiting_senders_) space_cv_.notify_all();
  }

  void settle(Queue& queue, Entry entry, Outcome outcome) {
    if (outcome == Outcome::ack) return;
    std::lock_guard lock(mutex_);
    if (outcome == Outcome::requeue) {
      // Back at its old position (before everything published after it), marked redelivered.
      // A requeue never fails for lack of room: that would lose the message.
      entry.redelivered = true;
      auto position = std::upper_bound(queue.ready.begin(), queue.ready.end(), entry.seq,
                                       [](std::uint64_t seq, const Entry& other) { return seq < other.seq; });
      queue.ready.insert(position, std::move(entry));
      wake_for_locked(queue);
    } else if (&queue == dead_letter_) {
      // Rejected from the dead-letter queue itself: re-queueing it there would loop forever.
      ++stats_.dead_letter_dropped;
      logger_->error("memory transport: a message rejected from dead-letter queue '{}' was dropped", queue.name);
    } else {
      dead_letter_locked(std::move(entry), queue, DeadLetterReason::rejected);
    }
  }

  /// Copies of the first `max` (0 = all) messages of `queue_name`, in order; nothing moves.
  std::vector<DeadLetter> browse(const std::string& queue_name, std::size_t max) {
    std::lock_guard lock(mutex_);
    std::vector<DeadLetter> out;
    auto it = queues_.find(queue_name);
    if (it == queues_.end()) return out;
    const std::deque<Entry>& ready = it->second->ready;
    std::size_t count = max == 0 ? ready.size() : std::min(max, ready.size());
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const Entry& entry = ready[i];
      DeadLetter& letter = out.emplace_back();
      letter.position = i;
      letter.body = entry.body;
      letter.reason = std::string(to_string(entry.reason));
      if (entry.dead_lettered_from) letter.queue = entry.dead_lettered_from->name;
      if (entry.route) {
        letter.exchange = entry.route->exchange;
        letter.routing_key = entry.route->routing_key;
      }
    }
    return out;
  }

  /// Ready messages of `queue_name` (0 when it does not exist).
  std::size_t depth(const std::string& queue_name) {
    std::lock_guard lock(mutex_);
    auto it = queues_.find(queue_name);
    return it == queues_.end() ? 0 : it->second->ready.size();
  }

  /// Removes every ready message of `queue_name`; returns how many.
  std::size_t purge(const std::string& queue_name) {
    std::lock_guard lock(mutex_);
    auto it = queues_.find(queue_name);
    if (it == queues_.end()) return 0;
    std::size_t count = it->second->ready.size();
    it->second->ready.clear();
    if (count && waiting_senders_) space_cv_.notify_all();
    return count;
  }

  const std::string& dead_letter_queue() const noexcept { return options_.dead_letter_queue; }

  /// Wakes every waiting poll, to see a listener's pause or stop.
  void wake_all() {
    std::lock_guard lock(mutex_);
    waiters_.notify_all();
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    waiters_.notify_all();
    space_cv_.notify_all();
  }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
  };
  using RouteTable = std::unordered_map<std::string, Route, StringHash, std::equal_to<>>;

  Route& route_locked(const std::string& exchange, const std::string& routing_key) {
    auto exchange_it = routes_.find(std::string_view(exchange));
    if (exchange_it == routes_.end()) exchange_it = routes_.emplace(exchange, RouteTable{}).first;
    RouteTable& table = exchange_it->second;
    auto route_it = table.find(std::string_view(routing_key));
    if (route_it == table.end()) route_it = table.emplace(routing_key, Route{exchange, routing_key, {}, false}).first;
    return route_it->second;
  }

  Queue& declare_locked(const std::string& name) {
    auto [it, inserted] = queues_.try_emplace(name, nullptr);
    if (inserted) it->second = std::make_unique<Queue>(name);
    return *it->second;
  }

  // The dead-letter queue is never bound to a live routing key (e.g. a pool or a topic named
  // like it): it would mix live traffic into it. Consuming it stays possible.
  void bind_locked(Route& route, Queue& queue, bool warn) {
    if (&queue == dead_letter_) {
      if (warn)
        logger_->warn(
            "memory transport: not binding dead-letter queue '{}' to routing key '{}'; it is consumed "
            "without a binding",
            queue.name, route.routing_key);
      return;
    }
    if (std::find(route.queues.begin(), route.queues.end(), &queue) == route.queues.end())
      route.queues.push_back(&queue);
  }

  void dead_letter_locked(Entry entry, const Queue& from, DeadLetterReason reason) {
    ++stats_.dead_lettered;
    if (options_.max_depth != 0 && dead_letter_->ready.size() >= options_.max_depth) {
      dead_letter_->ready.pop_front();
      ++stats_.dead_letter_dropped;
      logger_->error("memory transport: dead-letter queue '{}' full ({} messages); dropped its oldest message",
                     dead_letter_->name, options_.max_depth);
    }
    entry.seq = next_seq_++;
    entry.redelivered = false;
    entry.reason = reason;
    entry.dead_lettered_from = &from;
    dead_letter_->ready.push_back(std::move(entry));
    wake_for_locked(*dead_letter_);
  }

  // Wakes the longest-waiting polls of `queue` until what they may take covers what is ready.
  void wake_for_locked(Queue& queue) {
    while (queue.ready.size() > queue.promised && !waiters_.empty()) {
      const Waiter* woken = waiters_.wake_first_of(queue);
      if (woken == nullptr) return;
      queue.promised += woken->max;
    }
  }

  MemoryOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  WaitLine waiters_;
  std::condition_variable space_cv_;
  std::size_t waiting_senders_ = 0;
  bool closed_ = false;
  std::unordered_map<std::string, std::unique_ptr<Queue>> queues_;
  std::unordered_map<std::string, RouteTable, StringHash, std::equal_to<>> routes_;
  Queue* dead_letter_ = nullptr;
  std::uint64_t next_seq_ = 0;
  MemoryBrokerStats stats_;
};

class MemoryListener;

class MemoryIncoming final : public IncomingMessage {
 public:
  MemoryIncoming(std::shared_ptr<Broker> broker, std::shared_ptr<std::atomic<std::size_t>> outstanding, Queue& queue,
                 Entry entry)
      : IncomingMessage(std::move(entry.body), entry.redelivered, queue.name),
        broker_(std::move(broker)),
        outstanding_(std::move(outstanding)),
        queue_(&queue),
        entry_(std::move(entry)) {}
  ~MemoryIncoming() override { settle_if_unsettled(); }

 protected:
  void do_settle(Outcome outcome) override {
    // Queues live as long as the broker, which this message keeps alive.
    // The body moved into the base class; the rest of the entry (position, origin) is kept.
    if (outcome != Outcome::ack) entry_.body = body();
    broker_->settle(*queue_, std::move(entry_), outcome);
    outstanding_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::shared_ptr<Broker> broker_;
  std::shared_ptr<std::atomic<std::size_t>> outstanding_;
  Queue* queue_;
  Entry entry_;  // without its body
};

class MemoryListener final : public Listener {
 public:
  MemoryListener(std::shared_ptr<Broker> broker, const ListenSpec& spec)
      : broker_(std::move(broker)),
        bindings_(spec.bindings),
        credit_window_(spec.credit_window == 0 ? 1 : spec.credit_window) {
    broker_->subscribe(spec.bindings, queues_);
  }
  ~MemoryListener() override { stop(); }

  IncomingBatch poll(std::chrono::milliseconds timeout, std::size_t max_batch) override {
    IncomingBatch batch;
    // The credit window bounds unsettled deliveries, as AMQP link credit does. Several threads
    // may poll at once: each reserves its share of the credit first, then gives back what it
    // did not take.
    std::size_t in_use = outstanding_->load(std::memory_order_relaxed);
    std::size_t max = 0;
    do {
      max = std::min(max_batch, in_use >= credit_window_ ? 0 : credit_window_ - in_use);
    } while (max != 0 && !outstanding_->compare_exchange_weak(in_use, in_use + max, std::memory_order_relaxed));
    if (max == 0 || queues_.empty()) {
      if (max != 0) outstanding_->fetch_sub(max, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1)));
      return batch;
    }
    batch.reserve(max);
    broker_->take(queues_, cursor_, max, timeout, closed_, [&](Entry&& entry, Queue& queue) {
      batch.push_back(std::make_unique<MemoryIncoming>(broker_, outstanding_, queue, std::move(entry)));
    });
    if (batch.size() < max) outstanding_->fetch_sub(max - batch.size(), std::memory_order_relaxed);
    return batch;
  }

  // Nothing is prefetched, so there is nothing to drain: later polls return empty.
  void pause() override {
    if (closed_.exchange(true)) return;
    broker_->wake_all();
  }

  std::size_t stop() override {
    if (stopped_.exchange(true)) return 0;
    closed_.store(true);
    broker_->unbind_broadcast(bindings_);
    broker_->wake_all();
    return 0;  // nothing is prefetched: messages stay in their queue until polled
  }

 private:
  std::shared_ptr<Broker> broker_;
  std::vector<QueueBinding> bindings_;
  std::size_t credit_window_;
  std::vector<Queue*> queues_;
  std::size_t cursor_ = 0;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> closed_{false};  // paused or stopped: polls take nothing
  std::shared_ptr<std::atomic<std::size_t>> outstanding_ = std::make_shared<std::atomic<std::size_t>>(0);
};

class MemoryDriver final : public TransportDriver {
 public:
  MemoryDriver(MemoryOptions options, std::shared_ptr<spdlog::logger> logger)
      : broker_(std::make_shared<Broker>(std::move(options), std::move(logger))) {}
  ~MemoryDriver() override { broker_->close(); }

  void send(OutgoingMessage message, SendCallback done) override {
    std::error_code result = broker_->publish(message);
    if (done) done(result, {});
  }

  std::unique_ptr<Listener> listen(const ListenSpec& spec) override {
    if (spec.bindings.empty()) throw ArgumentError("listen: no queue to consume");
    return std::make_unique<MemoryListener>(broker_, spec);
  }

  const std::shared_ptr<Broker>& broker() const noexcept { return broker_; }

 private:
  std::shared_ptr<Broker> broker_;
};

// Reads straight from the broker's queue under its lock: nothing is taken, so nothing moves.
class MemoryDeadLetters final : public DeadLetterBackend {
 public:
  MemoryDeadLetters(std::shared_ptr<Broker> broker, std::string queue)
      : broker_(std::move(broker)), queue_(std::move(queue)) {}
  std::vector<DeadLetter> browse(std::size_t max) override { return broker_->browse(queue_, max); }
  std::size_t depth() override { return broker_->depth(queue_); }
  std::size_t purge() override { return broker_->purge(queue_); }

 private:
  std::shared_ptr<Broker> broker_;
  std::string queue_;
};

}  // namespace

std::unique_ptr<DeadLetterBackend> make_memory_dead_letters(Transport& transport, const std::string& queue,
                                                            std::string& resolved) {
  auto* driver = dynamic_cast<MemoryDriver*>(&transport.driver());
  if (!driver) return nullptr;
  resolved = queue.empty() ? driver->broker()->dead_letter_queue() : queue;
  return std::make_unique<MemoryDeadLetters>(driver->broker(), resolved);
}

std::unique_ptr<TransportDriver> make_memory_driver(const TransportUrl& url, const TransportOptions& options) {
  if (!url.hosts().empty()) throw ConfigError("transport_url: memory:// takes no host");
  return std::make_unique<MemoryDriver>(parse_options(url, options), logger_or_default(options.logger));
}

}  // namespace herald::detail
