#pragma once
// State shared between the I/O thread and one listener's poll()/stop(): the bounded queue of
// received deliveries and the attach/detach status that listen() and stop() wait for.

#include "transports/transport_driver.hpp"

#include <herald/error.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace herald::detail {

/// A delivery waiting for poll(). Its proton::delivery stays on the I/O thread, keyed by ids.
struct ReadyDelivery {
  std::uint64_t link_id = 0;
  std::uint64_t delivery_id = 0;
  std::string body;
  bool redelivered = false;
  std::uint32_t delivery_count = 0;
  std::string queue;
};

/// **Thread safety:** thread-safe (one mutex); bounded by the links' credit.
class DeliveryBuffer {
 public:
  DeliveryBuffer(std::vector<QueueBinding> bindings, std::size_t credit_window)
      : bindings_(std::move(bindings)), credit_window_(credit_window) {
    for (const QueueBinding& binding : bindings_)
      if (std::find(queues_.begin(), queues_.end(), binding.queue) == queues_.end()) queues_.push_back(binding.queue);
  }

  const std::vector<QueueBinding>& bindings() const noexcept { return bindings_; }
  /// The distinct queues: one receiver link each.
  const std::vector<std::string>& queues() const noexcept { return queues_; }
  std::size_t credit_window() const noexcept { return credit_window_; }

  /// I/O thread: a delivery arrived. False when stopped (the caller releases it).
  bool push(ReadyDelivery delivery) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return false;
      ready_.push_back(std::move(delivery));
    }
    changed_.notify_one();
    return true;
  }

  /// Waits up to `timeout` for a first delivery, then takes up to `max_batch`.
  std::vector<ReadyDelivery> take(std::chrono::milliseconds timeout, std::size_t max_batch) {
    std::vector<ReadyDelivery> out;
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return stopped_ || !ready_.empty(); });
    if (stopped_) return out;
    while (!ready_.empty() && out.size() < max_batch) {
      out.push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
    return out;
  }

  /// Marks the listener stopped and hands back what was never polled (to be released).
  std::vector<ReadyDelivery> stop() {
    std::vector<ReadyDelivery> unpolled;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      unpolled.assign(std::make_move_iterator(ready_.begin()), std::make_move_iterator(ready_.end()));
      ready_.clear();
    }
    changed_.notify_all();
    return unpolled;
  }

  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

  /// I/O thread: a link is gone; the broker requeues what it had unsettled, so the copies
  /// from that link must not be handed out (their settlement could not reach the broker).
  void drop_ready(std::uint64_t link_id) {
    std::lock_guard lock(mutex_);
    std::erase_if(ready_, [&](const ReadyDelivery& d) { return d.link_id == link_id; });
  }

  // Attach status, for listen().
  void link_attached() {
    std::lock_guard lock(mutex_);
    ++attached_;
    changed_.notify_all();
  }
  void fail(Errc code, std::string reason) {
    {
      std::lock_guard lock(mutex_);
      if (!failure_code_) {
        failure_code_ = code;
        failure_ = std::move(reason);
      }
    }
    changed_.notify_all();
  }
  /// Waits until every link attached (returns nullopt) or one failed / the timeout passed.
  std::pair<std::optional<Errc>, std::string> wait_attached(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    bool done =
        changed_.wait_for(lock, timeout, [&] { return failure_code_.has_value() || attached_ >= queues_.size(); });
    if (failure_code_) return {failure_code_, failure_};
    if (!done) return {Errc::timeout, {}};
    return {std::nullopt, {}};
  }

  // Detach status, for stop().
  void set_detached() {
    {
      std::lock_guard lock(mutex_);
      detached_ = true;
    }
    changed_.notify_all();
  }
  bool wait_detached(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return detached_; });
  }

 private:
  const std::vector<QueueBinding> bindings_;
  const std::size_t credit_window_;
  std::vector<std::string> queues_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ReadyDelivery> ready_;
  bool stopped_ = false;
  std::size_t attached_ = 0;
  std::optional<Errc> failure_code_;
  std::string failure_;
  bool detached_ = false;
};

}  // namespace herald::detail
