#pragma once
/// @file outbox.hpp
/// The Notifier's optional durable outbox: notifications written to local disk before the
/// priority method returns, removed once the broker confirmed them, resent by the next
/// Notifier that opens the same directory. See docs/reliability.md, "The durable outbox".

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace herald {

/// When an outbox write reaches the disk (fdatasync).
enum class OutboxDurability {
  /// The priority method returns after the record is written and fdatasync'ed (slow: one
  /// disk flush per call; concurrent callers share flushes).
  per_message,
  /// The priority method returns once the record is queued in memory; a committer writes and
  /// fdatasyncs the queue every `commit_interval`. A notification becomes *durable* then, and
  /// only durable notifications are sent: a confirmation never precedes the disk write.
  group_commit,
};

/// What a notify does when the outbox holds `max_bytes`.
enum class OutboxFullPolicy {
  block,        ///< wait up to the transport's send_timeout for room, then fail it (Errc::overflow)
  fail_new,     ///< fail the new notification at once (Errc::overflow)
  drop_oldest,  ///< drop the oldest segment's unconfirmed notifications (each reported failed, Errc::overflow)
};

/// Outbox configuration (NotifierOptions::outbox). Off while `directory` is empty.
struct OutboxOptions {
  /// Directory of the outbox (created if missing). Locked (flock) by one Notifier at a time:
  /// a second process gets an ConfigError naming the directory.
  std::string directory;
  OutboxDurability durability = OutboxDurability::group_commit;
  /// Group commit period (also how often confirmations are recorded in either mode). 1 ms .. 10 s.
  std::chrono::milliseconds commit_interval{10};
  /// Bytes the segment files may take on disk (records of unconfirmed notifications, the
  /// confirmation records, and confirmed records whose segment is not yet deleted).
  /// Unconfirmed notifications are also held in memory. At least 64 KiB.
  std::uint64_t max_bytes = 256ull << 20;
  OutboxFullPolicy full_policy = OutboxFullPolicy::block;
  /// Outbox entries handed to the transport and not yet confirmed, at most.
  std::size_t max_in_flight = 1000;
};

/// Counters and gauges of one outbox (Notifier::outbox_stats()).
struct OutboxStats {
  std::uint64_t depth = 0;            ///< notifications in the outbox (not yet confirmed)
  std::uint64_t bytes = 0;            ///< bytes of segment files (written or queued for writing)
  double oldest_age_seconds = 0;      ///< age of the oldest notification in the outbox (0 when empty)
  std::uint64_t appended = 0;         ///< notifications written by this process
  std::uint64_t durable = 0;          ///< of `appended`, those on disk; always the first `durable` appended
  std::uint64_t confirmed = 0;        ///< removed after the broker confirmed them (this process)
  std::uint64_t failed = 0;           ///< removed after a definitive failure (reported to on_error)
  std::uint64_t dropped = 0;          ///< removed by the drop_oldest policy (reported to on_error)
  std::uint64_t refused_full = 0;     ///< new notifications refused because the outbox was full
  std::uint64_t replayed = 0;         ///< unconfirmed notifications found on start and sent again
  std::uint64_t corrupt_records = 0;  ///< damaged records skipped on start
};

/// One unconfirmed notification in an outbox directory (read_outbox()).
struct OutboxEntry {
  std::uint64_t id = 0;
  std::chrono::system_clock::time_point created;
  std::string exchange;
  std::string routing_key;
  std::string message_id;
  std::string event_type;
  std::string body;  ///< the encoded oslo envelope (holds the payload)
};

/// What read_outbox() found.
struct OutboxContents {
  std::vector<OutboxEntry> entries;   ///< in the order they were written
  std::uint64_t bytes = 0;            ///< bytes of segment files
  std::vector<std::string> problems;  ///< one line per damaged region (file, offset, what)
  bool locked = false;                ///< a process holds the outbox now (its contents may change)
};

/// Reads the unconfirmed notifications of an outbox directory without changing it and without
/// taking its lock. @throws ArgumentError when `directory` is not readable.
/// **Thread safety:** a free function over files.
OutboxContents read_outbox(const std::string& directory);

}  // namespace herald
