#pragma once
// Bounded, thread-safe memory of recent message keys: the duplicate-suppression window and
// the per-message redelivery counts. Oldest entries are forgotten first (FIFO), so memory
// stays bounded whatever the traffic.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald::detail {

/// **Thread safety:** thread-safe.
class RecentKeys {
 public:
  explicit RecentKeys(std::size_t capacity) : capacity_(capacity) {}

  /// True when `key` is remembered.
  bool contains(const std::string& key) const {
    std::lock_guard lock(mutex_);
    return counts_.count(key) != 0;
  }

  /// Remembers `key` (if new) and returns its incremented count.
  std::uint32_t increment(const std::string& key) {
    if (capacity_ == 0) return 1;
    std::lock_guard lock(mutex_);
    auto [it, inserted] = counts_.try_emplace(key, 0);
    if (inserted) {
      order_.push_back(key);
      if (order_.size() > capacity_) {
        counts_.erase(order_.front());
        order_.pop_front();
      }
    }
    return ++it->second;
  }

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::uint32_t> counts_;
  std::deque<std::string> order_;
};

}  // namespace herald::detail
