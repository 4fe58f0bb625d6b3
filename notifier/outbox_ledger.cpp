#include "notifier/outbox_ledger.hpp"

#include <algorithm>

namespace herald::detail {
namespace {

// Gone entries behind a live one at the front are compacted away once they are this many and
// outnumber the live ones (amortised O(1) per removal; memory stays within twice the depth).
constexpr std::size_t kCompactAfter = 1024;

}  // namespace

std::optional<std::size_t> OutboxLedger::find(std::uint64_t id) const {
  if (items_.empty() || id < items_.front().id || id > items_.back().id) return std::nullopt;
  // Ids of one process are consecutive: the distance from the front is the index until a
  // compaction or a gap in recovered ids moves it.
  const std::size_t guess = id - items_.front().id;
  if (guess < items_.size() && items_[guess].id == id) return items_[guess].live ? std::optional(guess) : std::nullopt;
  const auto it =
      std::lower_bound(items_.begin(), items_.end(), id, [](const Item& item, std::uint64_t v) { return item.id < v; });
  if (it == items_.end() || it->id != id || !it->live) return std::nullopt;
  return static_cast<std::size_t>(it - items_.begin());
}

std::size_t OutboxLedger::upper_bound(std::uint64_t id) const {
  if (items_.empty() || id < items_.front().id) return 0;
  const std::size_t guess = id - items_.front().id + 1;
  if (guess >= items_.size()) {
    if (items_.back().id <= id) return items_.size();
  } else if (items_[guess - 1].id == id) {
    return guess;
  }
  const auto it =
      std::upper_bound(items_.begin(), items_.end(), id, [](std::uint64_t v, const Item& item) { return v < item.id; });
  return static_cast<std::size_t>(it - items_.begin());
}

void OutboxLedger::add(std::uint64_t id, std::uint64_t segment, std::int64_t created_ms, bool durable, Entry entry) {
  if (!items_.empty() && id <= items_.back().id) return;  // ids only grow
  items_.push_back(Item{id, segment, created_ms, durable ? State::ready : State::pending_disk, true, std::move(entry)});
  ++live_;
  ++segments_[segment].entries;
  if (durable) {
    ready_queue_.push_back(id);
    ++ready_count_;
  }
}

void OutboxLedger::add(std::uint64_t id, std::uint64_t segment, std::int64_t created_ms, bool durable) {
  add(id, segment, created_ms, durable, Entry());
}

void OutboxLedger::add_bytes(std::uint64_t segment, std::uint64_t bytes) {
  segments_[segment].bytes += bytes;
  bytes_ += bytes;
}

void OutboxLedger::mark_durable(std::uint64_t upto) {
  if (upto <= durable_upto_) return;
  for (std::size_t i = upper_bound(durable_upto_); i < items_.size() && items_[i].id <= upto; ++i) {
    Item& item = items_[i];
    if (!item.live || item.state != State::pending_disk) continue;
    item.state = State::ready;
    ready_queue_.push_back(item.id);
    ++ready_count_;
  }
  durable_upto_ = upto;
}

std::optional<std::uint64_t> OutboxLedger::take_next() {
  while (!ready_queue_.empty()) {
    const std::uint64_t id = ready_queue_.front();
    ready_queue_.pop_front();
    const auto index = find(id);
    if (!index || items_[*index].state != State::ready) continue;
    items_[*index].state = State::in_flight;
    --ready_count_;
    ++in_flight_;
    return id;
  }
  return std::nullopt;
}

void OutboxLedger::requeue(std::uint64_t id) {
  const auto index = find(id);
  if (!index || items_[*index].state != State::in_flight) return;
  items_[*index].state = State::ready;
  --in_flight_;
  ++ready_count_;
  ready_queue_.push_front(id);
}

bool OutboxLedger::remove(std::uint64_t id, Entry* out) {
  const auto index = find(id);
  if (!index) return false;
  Item& item = items_[*index];
  if (item.state == State::in_flight) --in_flight_;
  if (item.state == State::ready) --ready_count_;
  --segments_[item.segment].entries;
  item.live = false;
  if (out)
    *out = std::move(item.entry);
  else
    item.entry = {};
  --live_;
  drop_gone();
  return true;
}

void OutboxLedger::drop_gone() {
  while (!items_.empty() && !items_.front().live) items_.pop_front();
  const std::size_t gone = items_.size() - live_;
  if (gone >= kCompactAfter && gone > live_) std::erase_if(items_, [](const Item& item) { return !item.live; });
}

OutboxLedger::Entry* OutboxLedger::entry(std::uint64_t id) {
  const auto index = find(id);
  return index ? &items_[*index].entry : nullptr;
}

std::vector<std::uint64_t> OutboxLedger::entries_of_oldest_segment() const {
  std::vector<std::uint64_t> ids;
  if (items_.empty()) return ids;
  const std::uint64_t segment = items_.front().segment;  // ids grow with segments; the front is live
  for (auto it = items_.begin(); it != items_.end() && it->segment == segment; ++it)
    if (it->live) ids.push_back(it->id);
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
  const auto index = find(id);
  if (!index) return std::nullopt;
  return items_[*index].state;
}

std::optional<std::int64_t> OutboxLedger::oldest_created_ms() const {
  if (items_.empty()) return std::nullopt;
  return items_.front().created_ms;
}

}  // namespace herald::detail
