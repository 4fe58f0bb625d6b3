#pragma once
// The bound of what waits for the broker: messages and bytes accepted by send() and not yet
// confirmed or failed. Full = back-pressure on the caller (overflow=block) or an immediate
// failure (overflow=fail).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace herald::detail {

/// **Thread safety:** thread-safe.
class SendWindow {
 public:
  SendWindow(std::size_t max_messages, std::size_t max_bytes) : max_messages_(max_messages), max_bytes_(max_bytes) {}

  /// Takes room for one message of `bytes`, waiting up to `timeout` (0 = not at all). A
  /// message larger than the whole byte bound is admitted when the window is empty.
  bool acquire(std::size_t bytes, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    auto fits = [&] { return messages_ < max_messages_ && (bytes_ + bytes <= max_bytes_ || messages_ == 0); };
    if (!changed_.wait_for(lock, timeout, fits)) return false;
    ++messages_;
    bytes_ += bytes;
    return true;
  }
  void release(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      if (messages_ > 0) --messages_;
      bytes_ -= std::min(bytes, bytes_);
    }
    changed_.notify_all();
  }
  /// Waits until nothing waits or `deadline` passes. True when empty.
  bool wait_empty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return messages_ == 0; });
  }
  std::size_t messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  const std::size_t max_messages_;
  const std::size_t max_bytes_;
  std::size_t messages_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace herald::detail
