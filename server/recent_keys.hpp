#pragma once
// Bounded, thread-safe memory of recent message keys: the duplicate-suppression window and
// the per-message redelivery counts. Oldest entries are forgotten first (FIFO), so memory
// stays bounded whatever the traffic. Sharded by key hash so workers rarely contend.

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald::detail {

/// **Thread safety:** thread-safe.
class RecentKeys {
 public:
  /// Remembers about `capacity` keys in all (each shard keeps capacity / kShards, at least 1).
  explicit RecentKeys(std::size_t capacity)
      : enabled_(capacity != 0), shard_capacity_(capacity / kShards ? capacity / kShards : 1) {}

  /// True when `key` is remembered.
  bool contains(const std::string& key) const {
    const Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    return shard.counts.count(key) != 0;
  }

  /// Remembers `key` (if new) and returns its incremented count.
  std::uint32_t increment(const std::string& key) {
    if (!enabled_) return 1;
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    auto [it, inserted] = shard.counts.try_emplace(key, 0);
    std::uint32_t count = ++it->second;
    if (inserted) {
      shard.order.push_back(key);
      if (shard.order.size() > shard_capacity_) {
        shard.counts.erase(shard.order.front());
        shard.order.pop_front();
      }
    }
    return count;
  }

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::uint32_t> counts;
    std::deque<std::string> order;
  };
  Shard& shard_of(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }
  const Shard& shard_of(const std::string& key) const { return shards_[std::hash<std::string>{}(key) % kShards]; }

  bool enabled_;
  std::size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace herald::detail
