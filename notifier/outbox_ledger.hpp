#pragma once
// The outbox's state machine, without I/O: which entries are in the outbox (with what the
// Outbox keeps of each: its record and when it was last sent), which are on disk, which wait
// to be sent or are in flight, how many bytes each segment holds, and which segments may be
// deleted. The Outbox (outbox.cpp) drives it under its mutex and performs the file writes,
// deletions and sends it decides.
//
// Entry life: pending_disk --mark_durable--> ready --take_next--> in_flight --remove--> gone
//                                              ^---------requeue--------'
// Segments are deleted oldest first and only when no entry in them is left (see outbox_log.hpp
// for why the order matters).
//
// Entries sit in a deque sorted by id (ids only grow), found by their distance from the
// front (ids of one process are consecutive) or else by binary search; a removed entry is
// marked gone and leaves when it reaches the front, or in a compaction once gone entries
// outnumber live ones. Rejected: a std::map (one allocation and a tree walk per entry, a
// measurable share of the outbox's cost at 100k+ notifications/s).
//
// **Thread safety:** none; the owner serialises calls.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::detail {

class OutboxLedger {
 public:
  enum class State { pending_disk, ready, in_flight };

  /// What the owner keeps per entry: its encoded record, in place in a buffer `owner` keeps
  /// alive (the Outbox's chunks: no allocation per entry), and when it was last sent.
  struct Entry {
    std::shared_ptr<const void> owner;
    const char* data = nullptr;
    std::size_t size = 0;
    std::chrono::steady_clock::time_point sent_at{};  ///< the last send (latency of the outcome)
    std::string_view record() const noexcept { return {data, size}; }
  };

  /// A new entry `id` (ids only grow) written into `segment`.
  void add(std::uint64_t id, std::uint64_t segment, std::int64_t created_ms, bool durable, Entry entry);
  void add(std::uint64_t id, std::uint64_t segment, std::int64_t created_ms, bool durable);
  /// Bytes written (or queued) into `segment`.
  void add_bytes(std::uint64_t segment, std::uint64_t bytes);
  /// Every entry with an id up to `upto` is on disk: those pending become ready, in id order.
  void mark_durable(std::uint64_t upto);
  /// The next ready entry, now in flight; nullopt when none is ready.
  std::optional<std::uint64_t> take_next();
  /// An in-flight entry goes back to the front of the send queue (a transient failure).
  void requeue(std::uint64_t id);
  /// Removes `id` (confirmed, failed or dropped), moving what was kept of it into `out` when
  /// given. False when it was not there.
  bool remove(std::uint64_t id, Entry* out = nullptr);
  /// What is kept of entry `id`; null when it is not in the ledger. Valid until the next
  /// add() or remove().
  Entry* entry(std::uint64_t id);
  /// The entries of the oldest segment holding any (for drop_oldest); empty when none.
  std::vector<std::uint64_t> entries_of_oldest_segment() const;
  /// The oldest segment index with any bytes or entries, if any.
  std::optional<std::uint64_t> oldest_segment() const;
  /// Removes and returns (segment, bytes) of the leading segments without entries, oldest
  /// first, up to and excluding `active` (the segment new entries go to), and `active` too
  /// when `include_active` and it is empty.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> take_deletable(std::uint64_t active, bool include_active);

  std::size_t depth() const noexcept { return live_; }
  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t ready() const noexcept { return ready_count_; }
  std::uint64_t bytes() const noexcept { return bytes_; }
  std::uint64_t segment_entries(std::uint64_t segment) const;
  std::optional<State> state(std::uint64_t id) const;
  /// created_ms of the lowest id in the outbox.
  std::optional<std::int64_t> oldest_created_ms() const;

 private:
  struct Item {
    std::uint64_t id = 0;
    std::uint64_t segment = 0;
    std::int64_t created_ms = 0;
    State state = State::pending_disk;
    bool live = true;
    Entry entry;
  };
  struct Segment {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
  };
  /// Index in items_ of live entry `id`, if any.
  std::optional<std::size_t> find(std::uint64_t id) const;
  /// The first index whose id is greater than `id`.
  std::size_t upper_bound(std::uint64_t id) const;
  void drop_gone();

  std::deque<Item> items_;                 // sorted by id; the front is live
  std::deque<std::uint64_t> ready_queue_;  // may hold stale ids, skipped by take_next
  std::map<std::uint64_t, Segment> segments_;
  std::uint64_t durable_upto_ = 0;
  std::size_t live_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t ready_count_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace herald::detail
