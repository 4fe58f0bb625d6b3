#include "drivers/memory/memory_driver.hpp"

#include "core/logging.hpp"
#include "drivers/driver_factories.hpp"

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

struct Entry {
  std::string body;
  bool redelivered = false;
};

struct Queue {
  explicit Queue(std::string queue_name) : name(std::move(queue_name)) {}
  std::string name;
  std::deque<Entry> ready;
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
      bind_locked(route, declare_locked(message.routing_key));
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
        dead_letter_locked(std::move(oldest.body));
      }
      // The last target takes the body by move; fan-out copies.
      queue.ready.push_back(Entry{i + 1 == targets.size() ? std::move(message.body) : message.body, false});
    }
    wake_listeners_locked();
    return {};
  }

  void subscribe(const std::vector<QueueBinding>& bindings, std::vector<Queue*>& queues) {
    std::lock_guard lock(mutex_);
    for (const QueueBinding& binding : bindings) {
      Queue& queue = declare_locked(binding.queue);
      if (!binding.routing_key.empty()) bind_locked(route_locked(binding.exchange, binding.routing_key), queue);
      if (std::find(queues.begin(), queues.end(), &queue) == queues.end()) queues.push_back(&queue);
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
    if (!available() && !stopped) {
      ++waiting_listeners_;
      data_cv_.wait_for(lock, timeout, [&] { return available() || stopped || closed_; });
      --waiting_listeners_;
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
    if (taken && waiting_senders_) space_cv_.notify_all();
  }

  void settle(Queue& queue, std::string body, Outcome outcome) {
    if (outcome == Outcome::ack) return;
    std::lock_guard lock(mutex_);
    if (outcome == Outcome::requeue) {
      // Back at the head, marked redelivered (RabbitMQ puts it back near its old position).
      // A requeue never fails for lack of room: that would lose the message.
      queue.ready.push_front(Entry{std::move(body), true});
      wake_listeners_locked();
    } else if (&queue == dead_letter_) {
      // Rejected from the dead-letter queue itself: re-queueing it there would loop forever.
      ++stats_.dead_letter_dropped;
      logger_->error("memory transport: a message rejected from dead-letter queue '{}' was dropped", queue.name);
    } else {
      dead_letter_locked(std::move(body));
    }
  }

  void wake_all() {
    std::lock_guard lock(mutex_);
    data_cv_.notify_all();
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    data_cv_.notify_all();
    space_cv_.notify_all();
  }

 private:
  // The queues bound to one (exchange, routing key); found with one lookup per level and no
  // allocation once it exists.
  struct Route {
    std::vector<Queue*> queues;
    bool declared_on_send = false;
  };
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
    if (route_it == table.end()) route_it = table.emplace(routing_key, Route{}).first;
    return route_it->second;
  }

  Queue& declare_locked(const std::string& name) {
    auto [it, inserted] = queues_.try_emplace(name, nullptr);
    if (inserted) it->second = std::make_unique<Queue>(name);
    return *it->second;
  }

  static void bind_locked(Route& route, Queue& queue) {
    if (std::find(route.queues.begin(), route.queues.end(), &queue) == route.queues.end())
      route.queues.push_back(&queue);
  }

  void dead_letter_locked(std::string body) {
    ++stats_.dead_lettered;
    if (options_.max_depth != 0 && dead_letter_->ready.size() >= options_.max_depth) {
      dead_letter_->ready.pop_front();
      ++stats_.dead_letter_dropped;
      logger_->error("memory transport: dead-letter queue '{}' full ({} messages); dropped its oldest message",
                     dead_letter_->name, options_.max_depth);
    }
    dead_letter_->ready.push_back(Entry{std::move(body), false});
    wake_listeners_locked();
  }

  void wake_listeners_locked() {
    if (waiting_listeners_) data_cv_.notify_all();
  }

  MemoryOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::condition_variable data_cv_;
  std::condition_variable space_cv_;
  std::size_t waiting_listeners_ = 0;
  std::size_t waiting_senders_ = 0;
  bool closed_ = false;
  std::unordered_map<std::string, std::unique_ptr<Queue>> queues_;
  std::unordered_map<std::string, RouteTable, StringHash, std::equal_to<>> routes_;
  Queue* dead_letter_ = nullptr;
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
        queue_(&queue) {}
  ~MemoryIncoming() override { settle_if_unsettled(); }

 protected:
  void do_settle(Outcome outcome) override {
    // Queues live as long as the broker, which this message keeps alive.
    broker_->settle(*queue_, outcome == Outcome::ack ? std::string() : body(), outcome);
    outstanding_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::shared_ptr<Broker> broker_;
  std::shared_ptr<std::atomic<std::size_t>> outstanding_;
  Queue* queue_;
};

class MemoryListener final : public Listener {
 public:
  MemoryListener(std::shared_ptr<Broker> broker, const ListenSpec& spec)
      : broker_(std::move(broker)), credit_window_(spec.credit_window == 0 ? 1 : spec.credit_window) {
    broker_->subscribe(spec.bindings, queues_);
  }
  ~MemoryListener() override { stop(); }

  IncomingBatch poll(std::chrono::milliseconds timeout, std::size_t max_batch) override {
    IncomingBatch batch;
    std::size_t in_use = outstanding_->load(std::memory_order_relaxed);
    // The credit window bounds unsettled deliveries, as AMQP link credit does.
    std::size_t credit = in_use >= credit_window_ ? 0 : credit_window_ - in_use;
    std::size_t max = std::min(max_batch, credit);
    if (max == 0 || queues_.empty()) {
      std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1)));
      return batch;
    }
    batch.reserve(max);
    broker_->take(queues_, cursor_, max, timeout, stopped_, [&](Entry&& entry, Queue& queue) {
      outstanding_->fetch_add(1, std::memory_order_relaxed);
      batch.push_back(std::make_unique<MemoryIncoming>(broker_, outstanding_, queue, std::move(entry)));
    });
    return batch;
  }

  void stop() override {
    if (!stopped_.exchange(true)) broker_->wake_all();
  }

 private:
  std::shared_ptr<Broker> broker_;
  std::size_t credit_window_;
  std::vector<Queue*> queues_;
  std::size_t cursor_ = 0;
  std::atomic<bool> stopped_{false};
  std::shared_ptr<std::atomic<std::size_t>> outstanding_ = std::make_shared<std::atomic<std::size_t>>(0);
};

class MemoryDriver final : public Driver {
 public:
  MemoryDriver(MemoryOptions options, std::shared_ptr<spdlog::logger> logger)
      : broker_(std::make_shared<Broker>(std::move(options), std::move(logger))) {}
  ~MemoryDriver() override { broker_->close(); }

  void send(OutgoingMessage message, SendCallback done) override {
    std::error_code result = broker_->publish(message);
    if (done) done(result, {});
  }

  std::unique_ptr<Listener> listen(const ListenSpec& spec) override {
    if (spec.bindings.empty()) throw Error(Errc::invalid_argument, "listen: no queue to consume");
    return std::make_unique<MemoryListener>(broker_, spec);
  }

 private:
  std::shared_ptr<Broker> broker_;
};

}  // namespace

std::unique_ptr<Driver> make_memory_driver(const TransportUrl& url, const TransportOptions& options) {
  if (!url.hosts().empty()) throw ConfigError("transport_url: memory:// takes no host");
  return std::make_unique<MemoryDriver>(parse_options(url, options), logger_or_default(options.logger));
}

}  // namespace herald::detail
