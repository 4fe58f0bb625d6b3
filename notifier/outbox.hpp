#pragma once
// The durable outbox of a Notifier: it sits between the notifier and the Transport's driver.
// append() writes a record (per the durability mode) and returns; a pump thread sends durable
// entries through the driver, at most `max_in_flight` at a time; a confirmation or a
// definitive failure removes the entry (a done record) and is reported to the owner; a
// transient failure (overflow, timeout, closed) puts it back to be sent again. A committer
// thread writes and fdatasyncs what was appended every `commit_interval` (or at once when
// the owner flushes) and deletes segments nothing in the outbox needs any more.
//
// Cost per notification (issue 11): append() encodes the record into a reused buffer under the
// mutex (no other I/O, one allocation: the event type); the pump takes up to kPumpBatch
// entries per lock, and outcomes the driver reports on the pump's own thread (memory://
// settles inside send()) are applied for the whole batch under one lock and reported after
// it, so the caller and the pump meet on the mutex once per batch, not once per message.

#include "notifier/outbox_ledger.hpp"
#include "notifier/outbox_log.hpp"
#include "transports/transport_driver.hpp"

#include <herald/outbox.hpp>
#include <herald/priority.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::detail {

class OutboxInstruments;
class ChunkPool;
class ChunkBuffer;

/// How an outbox entry ended, for the notifier's counters and on_error.
struct OutboxOutcome {
  Priority priority = Priority::info;
  std::string_view message_id;
  std::string_view routing_key;
  std::string_view event_type;
  std::error_code error;  ///< {} when confirmed
  std::string_view reason;
  std::chrono::steady_clock::duration latency{};  ///< from the (last) send to the outcome
};

/// **Thread safety:** append() and stats() from any thread; the outcome handler is called from
/// the transport's threads, the pump or an appending thread (drop_oldest), never under a lock.
class Outbox : public std::enable_shared_from_this<Outbox> {
 public:
  using OutcomeHandler = std::function<void(const OutboxOutcome&)>;

  /// Locks and reads the directory; unconfirmed entries found there are queued for sending
  /// (counted in stats().replayed). Damaged records are logged and skipped.
  /// @throws ConfigError for a locked directory or bad options.
  static std::shared_ptr<Outbox> open(const OutboxOptions& options, TransportDriver& driver,
                                      std::chrono::milliseconds send_timeout, std::shared_ptr<spdlog::logger> logger,
                                      std::shared_ptr<Metrics> metrics, OutcomeHandler on_outcome);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  /// Writes `message`. Returns {} once it is in the outbox (durable per the mode), or
  /// Errc::overflow with `reason` when the full policy refused it.
  /// `message` is moved from only when it was accepted.
  std::error_code append(OutgoingMessage&& message, Priority priority, std::string_view event_type,
                         std::string& reason);
  /// Starts the committer and the pump (separate from open() so that replayed entries are
  /// counted by the owner before any outcome arrives).
  void start();
  /// Stops sending, writes what is queued, closes the files. Entries not yet confirmed stay
  /// for the next process. Idempotent; the owner must call it (the pump thread holds a
  /// reference until then). May be called from inside an outcome handler.
  void stop();
  OutboxStats stats() const;
  /// Waits up to `timeout` until everything appended so far is on disk.
  bool wait_durable(std::chrono::milliseconds timeout);
  /// Asks the committer to commit now instead of at the end of its interval (the owner is
  /// waiting for confirmations: flush()). Durability only comes sooner.
  void commit_soon();

 private:
  /// Records as appended, in a buffer from the ChunkPool; entries point into it. Appends
  /// never reallocate it (a record that does not fit starts the next chunk), so what was
  /// appended stays in place while callers append more.
  struct Chunk {
    std::uint64_t segment;
    std::shared_ptr<ChunkBuffer> bytes;
    std::size_t written = 0;  ///< bytes handed to the committer so far
  };
  /// A range of a chunk the committer seals (CRCs) and writes: whole records, which nobody
  /// changes any more (appends go past them, into reserved room).
  struct WriteRange {
    std::uint64_t segment;
    std::shared_ptr<ChunkBuffer> chunk;  ///< keeps `data` alive
    char* data;
    std::size_t size;
  };
  /// An outcome the driver reported on the pump's thread, applied after the batch.
  struct SendResult {
    std::uint64_t id;
    std::error_code error;
    std::string reason;
  };
  /// An entry appended and not yet in the ledger. Its chunk is one of pending_'s, which keeps
  /// it alive until absorb_locked() hands the entry to the ledger with a counted reference: the
  /// appending thread touches no reference count (a shared count the pump's thread releases
  /// would bounce between the cores on every notification).
  struct Incoming {
    std::uint64_t id = 0;
    std::uint64_t segment = 0;
    std::int64_t created_ms = 0;
    const ChunkBuffer* chunk = nullptr;
    const char* data = nullptr;
    std::size_t size = 0;
  };
  /// An entry that left the outbox, to be reported outside the lock.
  struct Finished {
    OutboxLedger::Entry entry;
    std::error_code error;
    std::string reason;
    std::chrono::steady_clock::duration latency{};
  };
  Outbox(const OutboxOptions& options, TransportDriver& driver, std::chrono::milliseconds send_timeout,
         std::shared_ptr<spdlog::logger> logger, std::shared_ptr<Metrics> metrics, OutcomeHandler on_outcome);
  void recover();
  /// Whether a record of `size` bytes fits (under append_mutex_).
  bool fits_append_locked(std::uint64_t size) const;
  /// The full policy, under append_mutex_ (released while blocking): {} once there is room.
  std::error_code make_room(std::unique_lock<std::mutex>& append_lock, std::uint64_t size,
                            std::vector<OutboxLedger::Entry>& dropped, std::string& reason);
  /// Moves the appended entries into the ledger (under both mutexes).
  void absorb_locked();
  void publish_usage_locked();
  void commit();
  void committer_loop();
  void pump_loop();
  void on_sent(std::uint64_t id, std::error_code error, std::string_view reason);
  /// Applies one outcome (under mutex_); true when `out` holds an entry to report.
  bool settle_locked(std::uint64_t id, std::error_code error, std::string_view reason,
                     std::chrono::steady_clock::time_point now, Finished& out);
  /// Drops the oldest segment's entries (under both mutexes); returns them for reporting.
  std::vector<OutboxLedger::Entry> drop_oldest_locked();
  void delete_segments_locked(bool include_active);
  void report(const OutboxLedger::Entry& entry, std::error_code error, std::string_view reason,
              std::chrono::steady_clock::duration latency);
  /// The chunk of `segment` with room for `size` more bytes (under append_mutex_).
  Chunk& chunk_for_locked(std::uint64_t segment, std::size_t size);

  OutboxOptions options_;
  TransportDriver& driver_;
  std::chrono::milliseconds send_timeout_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<OutboxInstruments> instruments_;
  OutcomeHandler on_outcome_;
  std::uint64_t segment_bytes_ = 0;
  std::unique_ptr<OutboxLock> lock_;  // released by stop()
  std::mutex stop_mutex_;
  bool stopped_ = false;  // guarded by stop_mutex_

  std::mutex io_mutex_;  // serialises commit(); taken before the others
  SegmentWriter writer_;
  std::vector<WriteRange> unwritten_;  // guarded by io_mutex_: a failed commit's ranges, first next time
  std::shared_ptr<ChunkPool> pool_;

  // Lock order: append_mutex_, then mutex_. The appending threads take append_mutex_ alone
  // unless the outbox is full; the pump, the confirmations and the committer's bookkeeping
  // take mutex_; the committer takes both only to move new entries into the ledger, swap the
  // chunks and delete segments.
  mutable std::mutex append_mutex_;
  // Guarded by append_mutex_:
  std::vector<Incoming> incoming_;  // appended since the last absorb_locked(), in id order
  std::uint64_t incoming_bytes_ = 0;
  std::vector<Chunk> pending_;  // chunks with bytes not yet handed to the committer (the last one takes appends)
  std::uint64_t active_segment_ = 1;
  std::uint64_t active_fill_ = 0;
  std::uint64_t last_id_ = 0;
  std::uint64_t first_id_ = 0;  // first id of this process
  std::uint64_t appended_ = 0;
  // Mirrors of ledger_.bytes() and depth() for the appending threads' room check.
  std::atomic<std::uint64_t> ledger_bytes_{0};
  std::atomic<std::uint64_t> ledger_depth_{0};

  mutable std::mutex mutex_;
  // Guarded by mutex_ (stopping_ is written under both, read under either):
  std::condition_variable pump_cv_;
  std::condition_variable space_cv_;
  std::condition_variable durable_cv_;
  std::condition_variable committer_cv_;
  OutboxLedger ledger_;
  std::vector<std::uint64_t> done_ids_;
  std::vector<std::uint64_t> to_unlink_;
  std::uint64_t highest_deleted_ = 0;
  std::uint64_t space_generation_ = 0;  // bumped when segments are deleted (blocked appends look)
  bool any_deleted_ = false;
  std::uint64_t durable_upto_ = 0;
  std::chrono::steady_clock::time_point retry_after_{};
  bool stopping_ = false;
  bool started_ = false;
  bool commit_requested_ = false;
  OutboxStats stats_;

  std::thread committer_;
  std::thread pump_;
  std::atomic<std::thread::id> pump_thread_{};
  std::vector<SendResult> pump_results_;  // only touched on the pump thread
};

}  // namespace herald::detail
