#pragma once
// One thread that runs blocking jobs in order (the management API's HTTP declarations), so
// neither the caller's thread nor the I/O thread ever waits for them.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace herald::detail {

/// **Thread safety:** post() from any thread; the destructor joins (pending jobs are dropped).
class BackgroundWorker {
 public:
  BackgroundWorker() : thread_([this] { run(); }) {}
  ~BackgroundWorker() { stop(); }
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  void post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      jobs_.push_back(std::move(job));
    }
    changed_.notify_one();
  }
  /// Drops what has not started and joins (waits for the running job).
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      jobs_.clear();
    }
    changed_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return stopped_ || !jobs_.empty(); });
      if (stopped_) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> jobs_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace herald::detail
