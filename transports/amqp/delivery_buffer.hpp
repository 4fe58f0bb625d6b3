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

  /// I/O thread: a delivery arrived. False when stopped (the caller releases it). A waiting
  /// poll is woken at once only when a whole batch of it is ready; otherwise wake_takers(),
  /// which the I/O thread calls once after the deliveries of one read, wakes them: one wake-up
  /// per read instead of one per delivery.
  bool push(ReadyDelivery delivery) {
    bool wake_now = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return false;
      ready_.push_back(std::move(delivery));
      wake_now = waiting_ > signals_ && ready_.size() >= (signals_ + 1) * take_max_;
      if (wake_now) ++signals_;
    }
    if (wake_now) ready_cv_.notify_one();
    return true;
  }

  /// I/O thread: wakes as many waiting polls as the ready deliveries need (one per batch a
  /// poll takes), counting those woken already.
  void wake_takers() {
    std::size_t wake = 0;
    {
      std::lock_guard lock(mutex_);
      const std::size_t needed = (ready_.size() + take_max_ - 1) / take_max_;
      const std::size_t idle = waiting_ > signals_ ? waiting_ - signals_ : 0;
      wake = needed > signals_ ? std::min(needed - signals_, idle) : 0;
      signals_ += wake;
    }
    for (std::size_t i = 0; i < wake; ++i) ready_cv_.notify_one();
  }

  /// Waits up to `timeout` for a first delivery, then takes up to `max_batch`. A poll that
  /// leaves deliveries behind wakes another waiting poll.
  std::vector<ReadyDelivery> take(std::chrono::milliseconds timeout, std::size_t max_batch) {
    std::vector<ReadyDelivery> out;
    std::unique_lock lock(mutex_);
    take_max_ = std::max<std::size_t>(max_batch, 1);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!stopped_ && ready_.empty()) {
      ++waiting_;
      // A signal is consumed by whoever wakes, so that the count of signals on their way never
      // outlives them (one still counted would hold back the wake-ups of later deliveries).
      const bool woken =
          ready_cv_.wait_until(lock, deadline, [&] { return stopped_ || !ready_.empty() || signals_ > 0; });
      --waiting_;
      if (signals_ > 0) --signals_;
      if (!woken) break;  // the timeout
    }
    if (stopped_) return out;
    while (!ready_.empty() && out.size() < max_batch) {
      out.push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
    const bool wake_next = !ready_.empty() && waiting_ > signals_;
    if (wake_next) ++signals_;
    lock.unlock();
    if (wake_next) ready_cv_.notify_one();
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
    ready_cv_.notify_all();
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
  std::condition_variable changed_;   // attach / detach / failure
  std::condition_variable ready_cv_;  // deliveries for take(), or stopped
  std::deque<ReadyDelivery> ready_;
  std::size_t waiting_ = 0;   // polls waiting in take()
  std::size_t signals_ = 0;   // notifications of waiting polls not yet consumed by one
  std::size_t take_max_ = 1;  // the most the latest poll took: what one wake-up covers
  bool stopped_ = false;
  std::size_t attached_ = 0;
  std::optional<Errc> failure_code_;
  std::string failure_;
  bool detached_ = false;
};

}  // namespace herald::detail
