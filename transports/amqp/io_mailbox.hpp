#pragma once
// The hand-over point between caller threads and the I/O thread: sends and settlements are
// batched under one mutex, and the I/O thread is woken once per batch (not once per message).

#include "transports/transport_driver.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace herald::detail {

/// A send handed to the I/O thread; its window room is already taken.
struct SendRequest {
  std::string address;
  OutgoingMessage message;
  SendCallback done;
  std::size_t bytes = 0;
};

struct SettleRequest {
  std::uint64_t link_id = 0;
  std::uint64_t delivery_id = 0;
  Outcome outcome = Outcome::ack;
};

/// **Thread safety:** thread-safe. Shared (shared_ptr) with IncomingMessages, which may
/// outlive the connection: after close() pushes are refused.
class IoMailbox {
 public:
  /// `wake` schedules a drain on the I/O thread; it returns false when the loop has ended.
  explicit IoMailbox(std::function<bool()> wake) : wake_(std::move(wake)) {}

  /// Moves `request` in on success; on failure (loop ended) leaves it with the caller.
  bool push_send(SendRequest& request) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    sends_.push_back(std::move(request));
    if (wake_locked()) return true;
    request = std::move(sends_.back());
    sends_.pop_back();
    return false;
  }
  bool push_settle(const SettleRequest& request) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    settles_.push_back(request);
    return wake_locked();
  }
  /// I/O thread: takes everything queued so far.
  void take(std::vector<SendRequest>& sends, std::vector<SettleRequest>& settles) {
    std::lock_guard lock(mutex_);
    sends.swap(sends_);
    settles.swap(settles_);
    wake_pending_ = false;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }

 private:
  bool wake_locked() {
    if (wake_pending_) return true;
    // Called under the lock so close() cannot race with a wake into a dying container.
    if (!wake_()) {
      closed_ = true;
      return false;
    }
    wake_pending_ = true;
    return true;
  }
  std::mutex mutex_;
  std::function<bool()> wake_;
  std::vector<SendRequest> sends_;
  std::vector<SettleRequest> settles_;
  bool wake_pending_ = false;
  bool closed_ = false;
};

}  // namespace herald::detail
