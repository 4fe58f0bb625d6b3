#pragma once
// A gate a test's handler waits at: the test learns when a handler got there, and decides when
// every handler may go on. Shared by the unit and integration tests.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace herald::test {

/// **Thread safety:** thread-safe.
class HandlerGate {
 public:
  /// Called by a handler: marks it arrived, then blocks until open().
  void pass() {
    std::unique_lock lock(mutex_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  /// True once a handler arrived, false if none did within `timeout`.
  bool wait_arrived(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return arrived_; });
  }
  /// Lets every waiting and later handler through.
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool arrived_ = false;
  bool open_ = false;
};

}  // namespace herald::test
