#pragma once
// The outbox's storage: an append-only log of CRC'd records in numbered segment files.
//
// A segment `seg-<index>.log` is a sequence of records:
//   u32 magic 'HOBX' | u8 type | u8 flags | u8[2] zero | u32 payload length | u32 crc(type, payload) | payload
// flags bit 0: the CRC is CRC-32C (Castagnoli), as written since 2026-12-03; without it the CRC
// is zlib's CRC-32 (IEEE), as written before, and such records still read.
// An entry record holds one notification (id, created, priority, retry, exchange, routing key,
// message id, event type, encoded body); a done record lists ids that left the outbox
// (confirmed, failed or dropped). A done record always lands in the same or a later segment
// than the entries it names, and segments are deleted oldest first, so a deleted segment never
// takes with it a done record whose entry is still on disk.
// Reading skips a damaged record by searching for the next magic whose CRC checks out.

#include <herald/outbox.hpp>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace herald::detail {

enum class OutboxRecordType : std::uint8_t { entry = 1, done = 2 };

/// One notification as stored.
struct OutboxRecord {
  std::uint64_t id = 0;
  std::int64_t created_ms = 0;  ///< system clock, ms since the epoch
  std::uint8_t priority = 0;
  std::int32_t retry = -1;
  std::string exchange;
  std::string routing_key;
  std::string message_id;
  std::string event_type;
  std::string body;
};

/// One stored notification read in place: views into an encoded entry record.
struct OutboxRecordView {
  std::uint64_t id = 0;
  std::int64_t created_ms = 0;
  std::uint8_t priority = 0;
  std::int32_t retry = -1;
  std::string_view exchange;
  std::string_view routing_key;
  std::string_view message_id;
  std::string_view event_type;
  std::string_view body;
};

inline constexpr std::size_t kOutboxHeaderBytes = 16;

/// The size of the entry record of `record`.
std::size_t entry_record_size(const OutboxRecordView& record);
/// Appends the encoded entry record to `out`; returns its size. Unsealed, its CRC field is
/// zero until seal_records() fills it (the outbox leaves the CRC to its committer thread).
std::size_t append_entry_record(const OutboxRecordView& record, std::string& out, bool sealed = true);
std::size_t append_entry_record(const OutboxRecord& record, std::string& out);
/// Writes the entry record into exactly entry_record_size(record) bytes at `out`.
void encode_entry_record(const OutboxRecordView& record, char* out, bool sealed);
/// The size of a done record naming `count` ids.
std::size_t done_record_size(std::size_t count);
/// Writes the done record into exactly done_record_size(ids.size()) bytes at `out`.
void encode_done_record(const std::vector<std::uint64_t>& ids, char* out);
/// CRC-32C (Castagnoli) of `bytes`: SSE 4.2 where the CPU has it, a table otherwise.
std::uint32_t crc32c(std::string_view bytes);
/// Computes the CRC of every record in `records` (whole records, as appended).
void seal_records(std::span<char> records);
/// Reads the entry record `record` (header included) in place; false when it is not one.
/// Checks the layout, not the CRC.
bool view_entry_record(std::string_view record, OutboxRecordView& out);
/// Appends a done record naming `ids` to `out`; returns its size.
std::size_t append_done_record(const std::vector<std::uint64_t>& ids, std::string& out);

/// What parse_segment() found in one segment's bytes.
struct SegmentScan {
  std::vector<OutboxRecord> entries;
  std::vector<std::uint64_t> done;
  std::uint64_t corrupt_records = 0;  ///< damaged regions skipped
  std::vector<std::string> problems;  ///< "offset N: what" per damaged region
};

/// Parses a segment's bytes (pure). Never throws on bad input.
SegmentScan parse_segment(std::string_view bytes);

/// The unconfirmed entries of a whole directory, as recovery sees them.
struct OutboxScan {
  std::map<std::uint64_t, std::pair<std::uint64_t, OutboxRecord>> live;  ///< id -> (segment, record)
  std::map<std::uint64_t, std::uint64_t> segment_bytes;                  ///< segment index -> file size
  std::uint64_t max_id = 0;
  std::uint64_t corrupt_records = 0;
  std::vector<std::string> problems;  ///< "<file>: offset N: what"
};

/// Reads every segment of `directory` in order. @throws ArgumentError when the
/// directory cannot be listed.
OutboxScan scan_outbox_directory(const std::string& directory);

/// The path of segment `index` in `directory`.
std::string segment_path(const std::string& directory, std::uint64_t index);

/// An exclusive flock on `<directory>/LOCK`, held while the object lives (the kernel releases
/// it when the process dies, so a crash never leaves a stale lock). It is a lock between
/// processes: two OutboxLocks of one process on one directory also conflict (flock is per
/// open file description). **Thread safety:** immutable after construction.
class OutboxLock {
 public:
  /// @throws ConfigError when another process holds it or it cannot be created.
  explicit OutboxLock(const std::string& directory);
  ~OutboxLock();
  OutboxLock(const OutboxLock&) = delete;
  OutboxLock& operator=(const OutboxLock&) = delete;
  /// Whether some process holds the lock of `directory` now (probe, does not keep it).
  static bool held_by_other(const std::string& directory);

 private:
  int fd_ = -1;
};

/// Writes chunks to the segment files. **Thread safety:** one thread at a time.
class SegmentWriter {
 public:
  explicit SegmentWriter(std::string directory) : directory_(std::move(directory)) {}
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;
  /// Appends `bytes` to segment `index` (or to the open one when `index` is older).
  /// @throws TransportError on an I/O error.
  void write(std::uint64_t index, std::string_view bytes);
  /// fdatasync of the open segment (and of the directory after a new file was created).
  void sync();
  void close();

 private:
  std::string directory_;
  int fd_ = -1;
  std::uint64_t index_ = 0;
  bool new_file_ = false;
};

}  // namespace herald::detail
