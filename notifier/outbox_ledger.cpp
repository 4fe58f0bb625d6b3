#include "notifier/outbox_ledger.hpp"

namespace herald::detail {

void OutboxLedger::add(std::uint64_t id, std::uint64_t segment, std::int64_t created_ms, bool durable) {
  Item item{segment, created_ms, durable ? State::ready : State::pending_disk};
  if (!items_.emplace(id, item).second) return;
  ++segments_[segment].entries;
  if (durable) {
    ready_queue_.push_back(id);
    ++ready_count_;
  }
}

void OutboxLedger::add_bytes(std::uint64_t segment, std::uint64_t bytes) {
  segments_[segment].bytes += bytes;
  bytes_ += bytes;
}

void OutboxLedger::mark_durable(std::uint64_t upto) {
  if (upto <= durable_upto_) return;
  for (auto it = items_.upper_bound(durable_upto_); it != items_.end() && it->first <= upto; ++it) {
    if (it->second.state != State::pending_disk) continue;
    it->second.state = State::ready;
    ready_queue_.push_back(it->first);
    ++ready_count_;
  }
  durable_upto_ = upto;
}

std::optional<std::uint64_t> OutboxLedger::take_next() {
  while (!ready_queue_.empty()) {
    const std::uint64_t id = ready_queue_.front();
    ready_queue_.pop_front();
    auto it = items_.find(id);
    if (it == items_.end() || it->second.state != State::ready) continue;
    it->second.state = State::in_flight;
    --ready_count_;
    ++in_flight_;
    return id;
  }
  return std::nullopt;
}

void OutboxLedger::requeue(std::uint64_t id) {
  auto it = items_.find(id);
  if (it == items_.end() || it->second.state != State::in_flight) return;
  it->second.state = State::ready;
  --in_flight_;
  ++ready_count_;
  ready_queue_.push_front(id);
}

bool OutboxLedger::remove(std::uint64_t id) {
  auto it = items_.find(id);
  if (it == items_.end()) return false;
  if (it->second.state == State::in_flight) --in_flight_;
  if (it->second.state == State::ready) --ready_count_;
  --segments_[it->second.segment].entries;
  items_.erase(it);
  return true;
}

std::vector<std::uint64_t> OutboxLedger::entries_of_oldest_segment() const {
  std::vector<std::uint64_t> ids;
  if (items_.empty()) return ids;
  const std::uint64_t segment = items_.begin()->second.segment;  // ids grow with segments
  for (auto it = items_.begin(); it != items_.end() && it->second.segment == segment; ++it) ids.push_back(it->first);
  return ids;
}

std::optional<std::uint64_t> OutboxLedger::oldest_segment() const {
  if (segments_.empty()) return std::nullopt;
  return segments_.begin()->first;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> OutboxLedger::take_deletable(std::uint64_t active,
                                                                                  bool include_active) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second.entries != 0 || it->first > active || (it->first == active && !include_active)) break;
    out.emplace_back(it->first, it->second.bytes);
    bytes_ -= it->second.bytes;
    it = segments_.erase(it);
  }
  return out;
}

std::uint64_t OutboxLedger::segment_entries(std::uint64_t segment) const {
  auto it = segments_.find(segment);
  return it == segments_.end() ? 0 : it->second.entries;
}

std::optional<OutboxLedger::State> OutboxLedger::state(std::uint64_t id) const {
  auto it = items_.find(id);
  if (it == items_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<std::int64_t> OutboxLedger::oldest_created_ms() const {
  if (items_.empty()) return std::nullopt;
  return items_.begin()->second.created_ms;
}

}  // namespace herald::detail
