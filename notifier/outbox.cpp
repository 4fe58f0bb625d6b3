#include "notifier/outbox.hpp"

#include "core/logging.hpp"
#include "metrics/instruments.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <filesystem>
#include <new>

namespace herald::detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxProblemLines = 20;
constexpr std::size_t kPumpBatch = 256;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Chunks (see Outbox::Chunk) are this big (one transparent huge page) unless one record needs
// more; the pool keeps up to kPooledChunks free ones, so that a steady stream reuses mapped
// memory instead of faulting new pages in (a chunk lives until its last entry is confirmed),
// and keeps only kIdleChunks once a commit finds nothing to write.
constexpr std::size_t kChunkBytes = 2u << 20;
constexpr std::size_t kPooledChunks = 16;
constexpr std::size_t kIdleChunks = 2;

// Failures after which the entry stays in the outbox and is sent again: the transport's own
// bounds (its send buffer was full), or the transport closing under it.
bool is_transient(std::error_code error) {
  return error == Errc::overflow || error == Errc::timeout || error == Errc::closed;
}

void validate(const OutboxOptions& o) {
  if (o.directory.empty()) throw ConfigError("outbox.directory: must not be empty");
  if (o.commit_interval < std::chrono::milliseconds(1) || o.commit_interval > std::chrono::seconds(10))
    throw ConfigError("outbox.commit_interval: must be between 1 ms and 10 s");
  if (o.max_bytes < (64u << 10)) throw ConfigError("outbox.max_bytes: must be at least 64 KiB");
  if (o.max_in_flight == 0) throw ConfigError("outbox.max_in_flight: must be at least 1");
}

}  // namespace

// A fixed buffer of encoded records: appends never move what it holds. Allocated in whole,
// aligned huge pages where the kernel offers them (MADV_HUGEPAGE): one page fault per 2 MiB
// instead of 512 (page faults were the caller's largest cost before).
class ChunkBuffer {
 public:
  explicit ChunkBuffer(std::size_t capacity)
      : capacity_((std::max(capacity, kChunkBytes) + kChunkBytes - 1) / kChunkBytes * kChunkBytes) {
    data_ = static_cast<char*>(std::aligned_alloc(kChunkBytes, capacity_));
    if (!data_) throw std::bad_alloc();
    ::madvise(data_, capacity_, MADV_HUGEPAGE);  // a hint: without it, ordinary pages
  }
  ~ChunkBuffer() { std::free(data_); }
  ChunkBuffer(const ChunkBuffer&) = delete;
  ChunkBuffer& operator=(const ChunkBuffer&) = delete;
  char* data() noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t room() const noexcept { return capacity_ - size_; }
  /// The next `n` bytes (n <= room()), now part of the buffer.
  char* extend(std::size_t n) noexcept {
    char* at = data_ + size_;
    size_ += n;
    return at;
  }
  void clear() noexcept { size_ = 0; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_;
};

// Recycles chunk buffers. Shared with the deleters of the buffers it hands out, so a buffer
// may outlive the Outbox. **Thread safety:** thread-safe.
class ChunkPool : public std::enable_shared_from_this<ChunkPool> {
 public:
  /// An empty buffer with room for at least `capacity` bytes (kChunkBytes at least).
  std::shared_ptr<ChunkBuffer> acquire(std::size_t capacity) {
    std::unique_ptr<ChunkBuffer> buffer;
    if (capacity <= kChunkBytes) {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        buffer = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!buffer) buffer = std::make_unique<ChunkBuffer>(capacity);
    buffer->clear();
    return {buffer.release(), [pool = shared_from_this()](ChunkBuffer* b) { pool->release(b); }};
  }
  /// Frees what exceeds `keep` free buffers.
  void trim(std::size_t keep) {
    std::vector<std::unique_ptr<ChunkBuffer>> freed;
    std::lock_guard lock(mutex_);
    while (free_.size() > keep) {
      freed.push_back(std::move(free_.back()));
      free_.pop_back();
    }
  }

 private:
  void release(ChunkBuffer* buffer) {
    std::unique_ptr<ChunkBuffer> owned(buffer);
    if (owned->capacity() > kChunkBytes) return;  // a one-off for a big record
    std::lock_guard lock(mutex_);
    if (free_.size() < kPooledChunks) free_.push_back(std::move(owned));
  }
  std::mutex mutex_;
  std::vector<std::unique_ptr<ChunkBuffer>> free_;
};

std::shared_ptr<Outbox> Outbox::open(const OutboxOptions& options, TransportDriver& driver,
                                     std::chrono::milliseconds send_timeout, std::shared_ptr<spdlog::logger> logger,
                                     std::shared_ptr<Metrics> metrics, OutcomeHandler on_outcome) {
  validate(options);
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  if (ec) throw ConfigError("outbox.directory: cannot create " + options.directory + ": " + ec.message());
  std::shared_ptr<Outbox> outbox(new Outbox(options, driver, send_timeout, logger_or_default(std::move(logger)),
                                            std::move(metrics), std::move(on_outcome)));
  outbox->recover();
  return outbox;
}

Outbox::Outbox(const OutboxOptions& options, TransportDriver& driver, std::chrono::milliseconds send_timeout,
               std::shared_ptr<spdlog::logger> logger, std::shared_ptr<Metrics> metrics, OutcomeHandler on_outcome)
    : options_(options),
      driver_(driver),
      send_timeout_(send_timeout),
      logger_(std::move(logger)),
      on_outcome_(std::move(on_outcome)),
      segment_bytes_(std::clamp<std::uint64_t>(options.max_bytes / 8, 16u << 10, 16u << 20)),
      lock_(std::make_unique<OutboxLock>(options.directory)),
      writer_(options.directory),
      pool_(std::make_shared<ChunkPool>()) {
  if (metrics) instruments_ = std::make_unique<OutboxInstruments>(std::move(metrics));
}

Outbox::~Outbox() { stop(); }

void Outbox::recover() {
  OutboxScan scan = scan_outbox_directory(options_.directory);
  for (std::size_t i = 0; i < scan.problems.size() && i < kMaxProblemLines; ++i)
    logger_->error("outbox {}: damaged data skipped: {}", options_.directory, scan.problems[i]);
  if (scan.problems.size() > kMaxProblemLines)
    logger_->error("outbox {}: {} more damaged region(s) skipped", options_.directory,
                   scan.problems.size() - kMaxProblemLines);
  std::scoped_lock lock(append_mutex_, mutex_);
  for (const auto& [segment, bytes] : scan.segment_bytes) {
    ledger_.add_bytes(segment, bytes);
    active_segment_ = segment + 1;
  }
  // The records are on disk already: re-encoded into chunks for memory only.
  std::shared_ptr<ChunkBuffer> chunk;
  for (auto& [id, entry] : scan.live) {
    const OutboxRecord& record = entry.second;
    const OutboxRecordView view{record.id,          record.created_ms, record.priority,   record.retry, record.exchange,
                                record.routing_key, record.message_id, record.event_type, record.body};
    const std::size_t size = entry_record_size(view);
    if (!chunk || chunk->room() < size) chunk = pool_->acquire(size);
    char* at = chunk->extend(size);
    encode_entry_record(view, at, true);
    ledger_.add(id, entry.first, record.created_ms, true, OutboxLedger::Entry{chunk, at, size, {}});
  }
  last_id_ = scan.max_id;
  durable_upto_ = last_id_;
  ledger_.mark_durable(last_id_);
  stats_.replayed = scan.live.size();
  stats_.corrupt_records = scan.corrupt_records;
  if (!scan.live.empty())
    logger_->warn(
        "outbox {}: {} unconfirmed notification(s) from an earlier run, sending them again (the "
        "broker may have some of them already)",
        options_.directory, scan.live.size());
  delete_segments_locked(false);
  publish_usage_locked();
  if (instruments_) instruments_->replayed(scan.live.size());
}

void Outbox::start() {
  std::scoped_lock lock(append_mutex_, mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  committer_ = std::thread([this] { committer_loop(); });
  // The pump keeps the outbox alive: a transport callback it runs inline may drop the last
  // reference to the notifier, whose destructor then stops the outbox on this very thread.
  pump_ = std::thread([self = shared_from_this()] { self->pump_loop(); });
}

Outbox::Chunk& Outbox::chunk_for_locked(std::uint64_t segment, std::size_t size) {
  if (pending_.empty() || pending_.back().segment != segment || pending_.back().bytes->room() < size)
    pending_.push_back({segment, pool_->acquire(size), 0});
  return pending_.back();
}

bool Outbox::fits_append_locked(std::uint64_t size) const {
  // Room for the record and for the done records that will name every entry (8 bytes each,
  // plus one record header): confirmations never push the files past max_bytes.
  const std::uint64_t bytes = ledger_bytes_.load(std::memory_order_acquire) + incoming_bytes_;
  const std::uint64_t depth = ledger_depth_.load(std::memory_order_acquire) + incoming_.size();
  return bytes + size + 8 * (depth + 1) + kOutboxHeaderBytes + 4 <= options_.max_bytes;
}

std::error_code Outbox::append(OutgoingMessage&& message, Priority priority, std::string_view event_type,
                               std::string& reason) {
  const std::int64_t created_ms = now_ms();
  OutboxRecordView view{0,
                        created_ms,
                        static_cast<std::uint8_t>(priority),
                        message.retry,
                        message.exchange,
                        message.routing_key,
                        message.message_id,
                        event_type,
                        message.body};
  const std::uint64_t size = entry_record_size(view);
  std::vector<OutboxLedger::Entry> dropped;
  std::error_code result;
  std::uint64_t id = 0;
  {
    // The fast path takes append_mutex_ only: the pump and the confirmations never hold it.
    std::unique_lock append_lock(append_mutex_);
    if (stopping_) {
      result = make_error_code(Errc::closed);
      reason = "the outbox is closed";
    } else if (!fits_append_locked(size)) {
      result = make_room(append_lock, size, dropped, reason);
    }
    if (!result) {
      id = ++last_id_;
      view.id = id;
      if (active_fill_ > 0 && active_fill_ + size > segment_bytes_) {
        ++active_segment_;
        active_fill_ = 0;
      }
      // Encoded in place, its CRC left to the committer; the message's strings are freed by
      // this thread when append() returns (no allocation lives on per entry).
      Chunk& chunk = chunk_for_locked(active_segment_, size);
      char* at = chunk.bytes->extend(size);
      encode_entry_record(view, at, false);
      incoming_.push_back(Incoming{id, active_segment_, created_ms, chunk.bytes.get(), at, size});
      incoming_bytes_ += size;
      active_fill_ += size;
      if (first_id_ == 0) first_id_ = id;
      ++appended_;
    }
  }
  for (const OutboxLedger::Entry& entry : dropped)
    report(entry, make_error_code(Errc::overflow), "dropped from the full outbox (drop_oldest)", {});
  if (!result && options_.durability == OutboxDurability::per_message) {
    commit();
    std::unique_lock lock(mutex_);
    // commit() may have failed (logged); the entry then becomes durable with a later commit.
    if (durable_upto_ < id) durable_cv_.wait_for(lock, send_timeout_, [&] { return durable_upto_ >= id || stopping_; });
  }
  return result;
}

std::error_code Outbox::make_room(std::unique_lock<std::mutex>& append_lock, std::uint64_t size,
                                  std::vector<OutboxLedger::Entry>& dropped, std::string& reason) {
  const auto deadline = Clock::now() + send_timeout_;
  std::unique_lock lock(mutex_);
  for (;;) {
    absorb_locked();
    if (stopping_) {
      reason = "the outbox is closed";
      return make_error_code(Errc::closed);
    }
    if (fits_append_locked(size)) return {};
    bool refused = false;
    switch (options_.full_policy) {
      case OutboxFullPolicy::fail_new:
        refused = true;
        break;
      case OutboxFullPolicy::drop_oldest: {
        std::vector<OutboxLedger::Entry> oldest = drop_oldest_locked();
        if (oldest.empty() && !fits_append_locked(size)) refused = true;
        for (OutboxLedger::Entry& entry : oldest) dropped.push_back(std::move(entry));
        break;
      }
      case OutboxFullPolicy::block: {
        if (Clock::now() >= deadline) {
          refused = true;
          break;
        }
        // Wait without append_mutex_: the committer needs it to delete segments.
        const std::uint64_t generation = space_generation_;
        append_lock.unlock();
        space_cv_.wait_until(lock, deadline, [&] { return stopping_ || space_generation_ != generation; });
        lock.unlock();
        append_lock.lock();
        lock.lock();
        break;
      }
    }
    if (refused) {
      ++stats_.refused_full;
      reason = "outbox full (" + std::to_string(ledger_.bytes()) + " of max_bytes " +
               std::to_string(options_.max_bytes) + " bytes in " + options_.directory + ")";
      return make_error_code(Errc::overflow);
    }
  }
}

void Outbox::absorb_locked() {
  // pending_ still holds every chunk an incoming entry points into (commit() drops chunks only
  // after absorbing); entries come in chunk order, so the lookup runs once per chunk.
  auto owner = pending_.begin();
  for (const Incoming& in : incoming_) {
    while (owner != pending_.end() && owner->bytes.get() != in.chunk) ++owner;
    if (owner == pending_.end())
      owner = std::find_if(pending_.begin(), pending_.end(), [&](const Chunk& c) { return c.bytes.get() == in.chunk; });
    assert(owner != pending_.end());
    ledger_.add(in.id, in.segment, in.created_ms, false, OutboxLedger::Entry{owner->bytes, in.data, in.size, {}});
    ledger_.add_bytes(in.segment, in.size);
  }
  incoming_.clear();
  incoming_bytes_ = 0;
  publish_usage_locked();
}

void Outbox::publish_usage_locked() {
  ledger_bytes_.store(ledger_.bytes(), std::memory_order_release);
  ledger_depth_.store(ledger_.depth(), std::memory_order_release);
}

std::vector<OutboxLedger::Entry> Outbox::drop_oldest_locked() {
  std::vector<OutboxLedger::Entry> dropped;
  const std::vector<std::uint64_t> ids = ledger_.entries_of_oldest_segment();
  if (ids.empty()) {
    delete_segments_locked(true);  // only records of confirmed entries are left
    return dropped;
  }
  dropped.reserve(ids.size());
  for (std::uint64_t id : ids) {
    // No done record: their segment is deleted at the next commit (a crash before that only
    // brings them back as duplicates).
    OutboxLedger::Entry entry;
    if (ledger_.remove(id, &entry)) dropped.push_back(std::move(entry));
  }
  stats_.dropped += dropped.size();
  publish_usage_locked();
  if (instruments_) instruments_->dropped(dropped.size());
  logger_->warn("outbox {} full: dropped the {} oldest unconfirmed notification(s) (drop_oldest)", options_.directory,
                dropped.size());
  delete_segments_locked(true);
  return dropped;
}

void Outbox::delete_segments_locked(bool include_active) {
  // A segment may hold entries not yet in the ledger: they go in first, or their segment could
  // look empty and be deleted under them.
  absorb_locked();
  const auto deletable = ledger_.take_deletable(active_segment_, include_active);
  for (const auto& [segment, bytes] : deletable) {
    to_unlink_.push_back(segment);
    highest_deleted_ = std::max(highest_deleted_, segment);
    any_deleted_ = true;
    if (segment == active_segment_) {
      ++active_segment_;
      active_fill_ = 0;
    }
  }
  if (!deletable.empty()) {
    ++space_generation_;
    publish_usage_locked();
    space_cv_.notify_all();
  }
}

void Outbox::commit() {
  std::lock_guard io(io_mutex_);
  std::vector<WriteRange> ranges;
  ranges.swap(unwritten_);
  std::uint64_t upto = 0;
  std::uint64_t first_id = 0;
  bool has_entries = false;
  {
    std::scoped_lock lock(append_mutex_, mutex_);
    first_id = first_id_;
    absorb_locked();
    if (!done_ids_.empty()) {
      const std::size_t size = done_record_size(done_ids_.size());
      encode_done_record(done_ids_, chunk_for_locked(active_segment_, size).bytes->extend(size));
      ledger_.add_bytes(active_segment_, size);
      active_fill_ += size;
      done_ids_.clear();
      publish_usage_locked();
    }
    for (Chunk& chunk : pending_) {
      if (chunk.written < chunk.bytes->size())
        ranges.push_back(
            {chunk.segment, chunk.bytes, chunk.bytes->data() + chunk.written, chunk.bytes->size() - chunk.written});
      chunk.written = chunk.bytes->size();
    }
    // Only the last chunk takes more appends.
    if (pending_.size() > 1) pending_.erase(pending_.begin(), pending_.end() - 1);
    // A deleted segment's queued bytes are never written (it would come back as a new file).
    if (any_deleted_) std::erase_if(ranges, [&](const WriteRange& r) { return r.segment <= highest_deleted_; });
    upto = last_id_;
    has_entries = upto > durable_upto_;
  }
  try {
    // The ranges are whole records nobody appends to any more: sealed and written without a lock.
    for (const WriteRange& range : ranges) {
      seal_records({range.data, range.size});
      writer_.write(range.segment, {range.data, range.size});
    }
    if (has_entries) writer_.sync();
  } catch (const Error& e) {
    logger_->error("{}; retrying at the next commit", e.what());
    unwritten_ = std::move(ranges);
    return;
  }
  if (ranges.empty()) pool_->trim(kIdleChunks);  // idle: give the memory back
  ranges.clear();                                // the chunks go back to the pool once their entries are gone too
  if (has_entries) {
    std::lock_guard lock(mutex_);
    ledger_.mark_durable(upto);
    durable_upto_ = upto;
    if (first_id != 0 && upto >= first_id) stats_.durable = upto - first_id + 1;
    durable_cv_.notify_all();
    pump_cv_.notify_all();
  }
  std::vector<std::uint64_t> unlink;
  {
    std::scoped_lock lock(append_mutex_, mutex_);
    delete_segments_locked(active_fill_ >= segment_bytes_ / 2);
    unlink.swap(to_unlink_);
  }
  for (std::uint64_t segment : unlink) ::unlink(segment_path(options_.directory, segment).c_str());
}

void Outbox::committer_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    committer_cv_.wait_for(lock, options_.commit_interval, [&] { return stopping_ || commit_requested_; });
    commit_requested_ = false;
    lock.unlock();
    commit();
    if (instruments_) {
      const OutboxStats s = stats();
      instruments_->update(s.depth, s.oldest_age_seconds);
    }
    lock.lock();
  }
}

void Outbox::pump_loop() {
  pump_thread_.store(std::this_thread::get_id());
  std::vector<std::pair<std::uint64_t, OutgoingMessage>> batch;
  std::vector<Finished> finished;
  std::unique_lock lock(mutex_);
  for (;;) {
    // Outcomes the driver reported during the last batch's sends, applied under one lock.
    const auto settled_at = Clock::now();
    for (const SendResult& result : pump_results_) {
      finished.emplace_back();
      if (!settle_locked(result.id, result.error, result.reason, settled_at, finished.back())) finished.pop_back();
    }
    if (!pump_results_.empty()) publish_usage_locked();
    pump_results_.clear();
    if (!finished.empty()) {
      lock.unlock();
      for (const Finished& f : finished) report(f.entry, f.error, f.reason, f.latency);
      finished.clear();
      lock.lock();
    }
    pump_cv_.wait(lock,
                  [&] { return stopping_ || (ledger_.ready() > 0 && ledger_.in_flight() < options_.max_in_flight); });
    if (stopping_) return;
    if (Clock::now() < retry_after_) {
      pump_cv_.wait_until(lock, retry_after_, [&] { return stopping_; });
      continue;
    }
    // A batch per lock: the appending threads contend for the same mutex.
    batch.clear();
    const auto now = Clock::now();
    while (batch.size() < kPumpBatch && ledger_.in_flight() < options_.max_in_flight) {
      const std::optional<std::uint64_t> id = ledger_.take_next();
      if (!id) break;
      OutboxLedger::Entry& entry = *ledger_.entry(*id);
      OutboxRecordView r;
      view_entry_record(entry.record(), r);  // encoded by append() or recover(): always an entry
      batch.emplace_back(*id, OutgoingMessage{std::string(r.exchange), std::string(r.routing_key), std::string(r.body),
                                              std::string(r.message_id), r.retry});
      entry.sent_at = now;
    }
    lock.unlock();
    const std::weak_ptr<Outbox> weak = weak_from_this();
    for (auto& [id, message] : batch)
      driver_.send(std::move(message), [weak, id = id](std::error_code ec, std::string_view reason) {
        if (auto self = weak.lock()) self->on_sent(id, ec, reason);
      });
    lock.lock();
  }
}

void Outbox::on_sent(std::uint64_t id, std::error_code error, std::string_view reason) {
  if (std::this_thread::get_id() == pump_thread_.load(std::memory_order_relaxed)) {
    // Inside the pump's driver_.send(): applied with the rest of the batch.
    pump_results_.push_back({id, error, std::string(reason)});
    return;
  }
  Finished finished;
  bool settled = false;
  {
    std::lock_guard lock(mutex_);
    settled = settle_locked(id, error, reason, Clock::now(), finished);
    publish_usage_locked();
    pump_cv_.notify_one();
  }
  if (settled) report(finished.entry, finished.error, finished.reason, finished.latency);
}

bool Outbox::settle_locked(std::uint64_t id, std::error_code error, std::string_view reason, Clock::time_point now,
                           Finished& out) {
  if (error && (stopping_ || is_transient(error))) {
    // Stays in the outbox: sent again after a pause, or by the next process.
    if (!stopping_) {
      ledger_.requeue(id);
      retry_after_ = now + std::chrono::milliseconds(100);
    }
    return false;
  }
  if (!ledger_.remove(id, &out.entry)) return false;  // dropped meanwhile
  out.error = error;
  out.reason.assign(reason);
  out.latency = now - out.entry.sent_at;
  done_ids_.push_back(id);
  if (error)
    ++stats_.failed;
  else
    ++stats_.confirmed;
  return true;
}

void Outbox::report(const OutboxLedger::Entry& entry, std::error_code error, std::string_view reason,
                    Clock::duration latency) {
  if (!on_outcome_) return;
  OutboxRecordView r;
  view_entry_record(entry.record(), r);
  OutboxOutcome outcome{
      static_cast<Priority>(r.priority), r.message_id, r.routing_key, r.event_type, error, reason, latency};
  try {
    on_outcome_(outcome);
  } catch (...) {
    logger_->error("outbox outcome handler threw; ignored");
  }
}

void Outbox::stop() {
  std::lock_guard once(stop_mutex_);
  if (stopped_) return;
  {
    std::scoped_lock lock(append_mutex_, mutex_);
    stopping_ = true;
    pump_cv_.notify_all();
    space_cv_.notify_all();
    durable_cv_.notify_all();
    committer_cv_.notify_all();
  }
  if (pump_.joinable()) {
    if (pump_.get_id() == std::this_thread::get_id())
      pump_.detach();  // stopped from inside a send callback: the loop ends when it returns
    else
      pump_.join();
  }
  if (committer_.joinable()) committer_.join();
  try {
    commit();
  } catch (...) {
  }
  {
    std::lock_guard io(io_mutex_);
    writer_.close();
    // An empty outbox leaves no segment behind.
    std::vector<std::uint64_t> unlink;
    {
      std::scoped_lock lock(append_mutex_, mutex_);
      delete_segments_locked(true);
      unlink.swap(to_unlink_);
    }
    for (std::uint64_t segment : unlink) ::unlink(segment_path(options_.directory, segment).c_str());
  }
  lock_.reset();  // another process may take the outbox now
  stopped_ = true;
}

OutboxStats Outbox::stats() const {
  std::scoped_lock lock(append_mutex_, mutex_);
  OutboxStats s = stats_;
  s.appended = appended_;
  s.depth = ledger_.depth() + incoming_.size();
  s.bytes = ledger_.bytes() + incoming_bytes_;
  std::optional<std::int64_t> created = ledger_.oldest_created_ms();
  if (!created && !incoming_.empty()) created = incoming_.front().created_ms;
  if (created) s.oldest_age_seconds = std::max<double>(0, static_cast<double>(now_ms() - *created) / 1000.0);
  return s;
}

void Outbox::commit_soon() {
  std::lock_guard lock(mutex_);
  commit_requested_ = true;
  committer_cv_.notify_one();
}

bool Outbox::wait_durable(std::chrono::milliseconds timeout) {
  std::uint64_t last_id = 0;
  {
    std::lock_guard append_lock(append_mutex_);
    last_id = last_id_;
  }
  std::unique_lock lock(mutex_);
  return durable_cv_.wait_for(lock, timeout, [&] { return durable_upto_ >= last_id || stopping_; });
}

}  // namespace herald::detail

namespace herald {

OutboxContents read_outbox(const std::string& directory) {
  detail::OutboxScan scan = detail::scan_outbox_directory(directory);
  OutboxContents contents;
  contents.locked = detail::OutboxLock::held_by_other(directory);
  for (const auto& [segment, bytes] : scan.segment_bytes) contents.bytes += bytes;
  contents.problems = std::move(scan.problems);
  contents.entries.reserve(scan.live.size());
  for (auto& [id, entry] : scan.live) {
    detail::OutboxRecord& r = entry.second;
    OutboxEntry e;
    e.id = id;
    e.created = std::chrono::system_clock::time_point(std::chrono::milliseconds(r.created_ms));
    e.exchange = std::move(r.exchange);
    e.routing_key = std::move(r.routing_key);
    e.message_id = std::move(r.message_id);
    e.event_type = std::move(r.event_type);
    e.body = std::move(r.body);
    contents.entries.push_back(std::move(e));
  }
  return contents;
}

}  // namespace herald
