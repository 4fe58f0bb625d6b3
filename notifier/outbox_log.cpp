#include "notifier/outbox_log.hpp"

#include <herald/error.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace herald::detail {
namespace {

constexpr std::uint32_t kMagic = 0x58424f48;  // "HOBX" little-endian
constexpr std::uint32_t kMaxPayload = 64u << 20;

void store_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Writes fields into room the caller sized exactly (entry_record_size, done_record_size).
class FieldWriter {
 public:
  explicit FieldWriter(char* out) : p_(out) {}
  void u8(std::uint8_t v) { *p_++ = static_cast<char>(v); }
  void u32(std::uint32_t v) {
    store_u32(p_, v);
    p_ += 4;
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p_[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    p_ += 8;
  }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

 private:
  char* p_;
};

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Header byte 5 holds flags. kFlagCrc32c: the CRC is CRC-32C (Castagnoli), which x86-64's
// SSE 4.2 computes 8 bytes per instruction; records without it (written before 2026-12-03)
// carry zlib's CRC-32 (IEEE) and still read.
constexpr std::uint8_t kFlagCrc32c = 0x01;

// CRC-32C (reflected polynomial 0x82F63B78), a byte at a time: the fallback where SSE 4.2 is
// missing.
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrc32cTable = make_crc32c_table();

std::uint32_t crc32c_portable(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) crc = kCrc32cTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  std::uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, *p);
  return c32;
}
#endif

// `crc` continued over `n` bytes (pre- and post-inverted by the caller).
std::uint32_t crc32c_update(std::uint32_t crc, const unsigned char* p, std::size_t n) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  if (sse42) return crc32c_sse42(crc, p, n);
#endif
  return crc32c_portable(crc, p, n);
}

// The CRC of the type byte and the payload: CRC-32C when `flags` says so, else CRC-32 (IEEE,
// as zlib, gzip and PNG; zlib's is several times faster than a byte-wise table).
std::uint32_t record_crc(std::uint8_t type, std::uint8_t flags, std::string_view payload) {
  const unsigned char type_byte = type;
  if (flags & kFlagCrc32c) {
    std::uint32_t crc = crc32c_update(~0u, &type_byte, 1);
    crc = crc32c_update(crc, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
    return ~crc;
  }
  uLong crc = ::crc32(0L, &type_byte, 1);
  crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
  return ~crc32c_update(~0u, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

namespace {

// Writes the header of the record at `record` whose payload (`length` bytes) follows it.
void write_header(char* record, OutboxRecordType type, std::size_t length, bool sealed) {
  store_u32(record, kMagic);
  record[4] = static_cast<char>(type);
  record[5] = static_cast<char>(kFlagCrc32c);
  record[6] = record[7] = '\0';
  store_u32(record + 8, static_cast<std::uint32_t>(length));
  const std::string_view payload(record + kOutboxHeaderBytes, length);
  store_u32(record + 12, sealed ? record_crc(static_cast<std::uint8_t>(type), kFlagCrc32c, payload) : 0);
}

// A bounds-checked reader of one payload.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view payload) : p_(payload) {}
  bool u8(std::uint8_t& v) {
    if (p_.size() < 1) return false;
    v = static_cast<std::uint8_t>(p_[0]);
    p_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (p_.size() < 4) return false;
    v = get_u32(p_.data());
    p_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (p_.size() < 8) return false;
    v = get_u64(p_.data());
    p_.remove_prefix(8);
    return true;
  }
  bool view(std::string_view& s) {
    std::uint32_t n = 0;
    if (!u32(n) || p_.size() < n) return false;
    s = p_.substr(0, n);
    p_.remove_prefix(n);
    return true;
  }
  bool str(std::string& s) {
    std::string_view v;
    if (!view(v)) return false;
    s.assign(v);
    return true;
  }
  bool at_end() const { return p_.empty(); }

 private:
  std::string_view p_;
};

bool decode_entry(std::string_view payload, OutboxRecord& r) {
  PayloadReader in(payload);
  std::uint64_t created = 0;
  std::uint32_t retry = 0;
  return in.u64(r.id) && in.u64(created) && (r.created_ms = static_cast<std::int64_t>(created), true) &&
         in.u8(r.priority) && in.u32(retry) && (r.retry = static_cast<std::int32_t>(retry), true) &&
         in.str(r.exchange) && in.str(r.routing_key) && in.str(r.message_id) && in.str(r.event_type) &&
         in.str(r.body) && in.at_end();
}

bool decode_done(std::string_view payload, std::vector<std::uint64_t>& ids) {
  PayloadReader in(payload);
  std::uint32_t count = 0;
  if (!in.u32(count) || payload.size() != 4 + std::size_t{count} * 8) return false;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint64_t id = 0;
    in.u64(id);
    ids.push_back(id);
  }
  return true;
}

std::string errno_text(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool parse_segment_name(const char* name, std::uint64_t& index) {
  // seg-<16 hex digits>.log
  const std::string_view n(name);
  if (n.size() != 4 + 16 + 4 || n.substr(0, 4) != "seg-" || n.substr(20) != ".log") return false;
  index = 0;
  for (char c : n.substr(4, 16)) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    index = index * 16 + static_cast<std::uint64_t>(d);
  }
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return true;
}

}  // namespace

std::size_t entry_record_size(const OutboxRecordView& r) {
  return kOutboxHeaderBytes + 8 + 8 + 1 + 4 + 5 * 4 + r.exchange.size() + r.routing_key.size() + r.message_id.size() +
         r.event_type.size() + r.body.size();
}

void encode_entry_record(const OutboxRecordView& r, char* out, bool sealed) {
  FieldWriter w(out + kOutboxHeaderBytes);
  w.u64(r.id);
  w.u64(static_cast<std::uint64_t>(r.created_ms));
  w.u8(r.priority);
  w.u32(static_cast<std::uint32_t>(r.retry));
  w.str(r.exchange);
  w.str(r.routing_key);
  w.str(r.message_id);
  w.str(r.event_type);
  w.str(r.body);
  write_header(out, OutboxRecordType::entry, entry_record_size(r) - kOutboxHeaderBytes, sealed);
}

std::size_t append_entry_record(const OutboxRecordView& r, std::string& out, bool sealed) {
  const std::size_t start = out.size();
  const std::size_t size = entry_record_size(r);
  out.resize(start + size);
  encode_entry_record(r, out.data() + start, sealed);
  return size;
}

std::size_t append_entry_record(const OutboxRecord& r, std::string& out) {
  return append_entry_record(OutboxRecordView{r.id, r.created_ms, r.priority, r.retry, r.exchange, r.routing_key,
                                              r.message_id, r.event_type, r.body},
                             out);
}

void seal_records(std::span<char> records) {
  std::size_t pos = 0;
  while (records.size() - pos >= kOutboxHeaderBytes) {
    char* header = records.data() + pos;
    const std::uint32_t length = get_u32(header + 8);
    if (records.size() - pos - kOutboxHeaderBytes < length) break;  // cannot happen: whole records only
    const std::string_view payload(header + kOutboxHeaderBytes, length);
    store_u32(header + 12,
              record_crc(static_cast<std::uint8_t>(header[4]), static_cast<std::uint8_t>(header[5]), payload));
    pos += kOutboxHeaderBytes + length;
  }
}

bool view_entry_record(std::string_view record, OutboxRecordView& r) {
  if (record.size() < kOutboxHeaderBytes || get_u32(record.data()) != kMagic ||
      static_cast<std::uint8_t>(record[4]) != static_cast<std::uint8_t>(OutboxRecordType::entry) ||
      get_u32(record.data() + 8) != record.size() - kOutboxHeaderBytes)
    return false;
  PayloadReader in(record.substr(kOutboxHeaderBytes));
  std::uint64_t created = 0;
  std::uint32_t retry = 0;
  if (!(in.u64(r.id) && in.u64(created) && in.u8(r.priority) && in.u32(retry) && in.view(r.exchange) &&
        in.view(r.routing_key) && in.view(r.message_id) && in.view(r.event_type) && in.view(r.body) && in.at_end()))
    return false;
  r.created_ms = static_cast<std::int64_t>(created);
  r.retry = static_cast<std::int32_t>(retry);
  return true;
}

std::size_t done_record_size(std::size_t count) { return kOutboxHeaderBytes + 4 + 8 * count; }

void encode_done_record(const std::vector<std::uint64_t>& ids, char* out) {
  FieldWriter w(out + kOutboxHeaderBytes);
  w.u32(static_cast<std::uint32_t>(ids.size()));
  for (std::uint64_t id : ids) w.u64(id);
  write_header(out, OutboxRecordType::done, 4 + 8 * ids.size(), true);
}

std::size_t append_done_record(const std::vector<std::uint64_t>& ids, std::string& out) {
  const std::size_t start = out.size();
  const std::size_t size = done_record_size(ids.size());
  out.resize(start + size);
  encode_done_record(ids, out.data() + start);
  return size;
}

SegmentScan parse_segment(std::string_view bytes) {
  SegmentScan scan;
  std::size_t pos = 0;
  std::size_t bad_start = std::string_view::npos;
  std::string bad_what;
  auto end_bad_region = [&](std::size_t at) {
    if (bad_start == std::string_view::npos) return;
    ++scan.corrupt_records;
    scan.problems.push_back("offset " + std::to_string(bad_start) + ": " + bad_what + ", " +
                            std::to_string(at - bad_start) + " byte(s) skipped");
    bad_start = std::string_view::npos;
  };
  while (pos < bytes.size()) {
    const char* why = nullptr;
    std::size_t length = 0;
    if (bytes.size() - pos < kOutboxHeaderBytes) {
      why = "truncated record header";
    } else if (get_u32(bytes.data() + pos) != kMagic) {
      why = "bad record magic";
    } else {
      const auto type = static_cast<std::uint8_t>(bytes[pos + 4]);
      const auto flags = static_cast<std::uint8_t>(bytes[pos + 5]);
      length = get_u32(bytes.data() + pos + 8);
      const std::uint32_t crc = get_u32(bytes.data() + pos + 12);
      if (length > kMaxPayload || bytes.size() - pos - kOutboxHeaderBytes < length) {
        why = "truncated record";
      } else {
        const std::string_view payload = bytes.substr(pos + kOutboxHeaderBytes, length);
        if (record_crc(type, flags, payload) != crc) {
          why = "CRC mismatch";
        } else if (type == static_cast<std::uint8_t>(OutboxRecordType::entry)) {
          OutboxRecord r;
          if (decode_entry(payload, r))
            scan.entries.push_back(std::move(r));
          else
            why = "malformed entry";
        } else if (type == static_cast<std::uint8_t>(OutboxRecordType::done)) {
          if (!decode_done(payload, scan.done)) why = "malformed done record";
        } else {
          why = "unknown record type";
        }
      }
    }
    if (!why) {
      end_bad_region(pos);
      pos += kOutboxHeaderBytes + length;
      continue;
    }
    if (bad_start == std::string_view::npos) {
      bad_start = pos;
      bad_what = why;
    }
    // Resynchronise: the next position holding the magic.
    std::size_t next = pos + 1;
    for (; next + 4 <= bytes.size(); ++next)
      if (get_u32(bytes.data() + next) == kMagic) break;
    pos = next + 4 <= bytes.size() ? next : bytes.size();
  }
  end_bad_region(bytes.size());
  return scan;
}

std::string segment_path(const std::string& directory, std::uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016llx.log", static_cast<unsigned long long>(index));
  return directory + "/" + name;
}

OutboxScan scan_outbox_directory(const std::string& directory) {
  DIR* dir = ::opendir(directory.c_str());
  if (!dir) throw ArgumentError("outbox: " + errno_text("cannot read directory", directory));
  std::vector<std::uint64_t> indexes;
  while (const dirent* e = ::readdir(dir)) {
    std::uint64_t index = 0;
    if (parse_segment_name(e->d_name, index)) indexes.push_back(index);
  }
  ::closedir(dir);
  std::sort(indexes.begin(), indexes.end());
  OutboxScan out;
  std::string bytes;
  for (std::uint64_t index : indexes) {
    const std::string path = segment_path(directory, index);
    if (!read_file(path, bytes)) {
      out.problems.push_back(errno_text("cannot read", path));
      continue;
    }
    out.segment_bytes[index] = bytes.size();
    SegmentScan scan = parse_segment(bytes);
    out.corrupt_records += scan.corrupt_records;
    for (std::string& p : scan.problems) out.problems.push_back(path + ": " + p);
    for (OutboxRecord& r : scan.entries) {
      out.max_id = std::max(out.max_id, r.id);
      const std::uint64_t id = r.id;
      out.live[id] = {index, std::move(r)};
    }
    for (std::uint64_t id : scan.done) {
      out.max_id = std::max(out.max_id, id);
      out.live.erase(id);
    }
  }
  return out;
}

OutboxLock::OutboxLock(const std::string& directory) {
  const std::string path = directory + "/LOCK";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw ConfigError("outbox: " + errno_text("cannot open", path));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const bool busy = errno == EWOULDBLOCK;
    const std::string text = busy ? "outbox " + directory + " is in use by another process (" + path + " is locked)"
                                  : "outbox: " + errno_text("cannot lock", path);
    ::close(fd_);
    fd_ = -1;
    throw ConfigError(text);
  }
  // The holder's pid, for operators (informational only; the flock is the lock).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) [[maybe_unused]]
    auto n = ::pwrite(fd_, pid.data(), pid.size(), 0);
}

OutboxLock::~OutboxLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

bool OutboxLock::held_by_other(const std::string& directory) {
  const std::string path = directory + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = false;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0)
    held = errno == EWOULDBLOCK;
  else
    ::flock(fd, LOCK_UN);
  ::close(fd);
  return held;
}

SegmentWriter::~SegmentWriter() { close(); }

void SegmentWriter::write(std::uint64_t index, std::string_view bytes) {
  if (fd_ < 0 || index > index_) {
    if (fd_ >= 0) {
      ::fdatasync(fd_);  // a rotated segment is complete on disk before the next one starts
      ::close(fd_);
    }
    const std::string path = segment_path(directory_, index);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw TransportError("outbox: " + errno_text("cannot create", path));
    index_ = index;
    new_file_ = true;
  }
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw TransportError("outbox: " + errno_text("write failed on", segment_path(directory_, index_)));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void SegmentWriter::sync() {
  if (fd_ < 0) return;
  if (::fdatasync(fd_) != 0)
    throw TransportError("outbox: " + errno_text("fdatasync failed on", segment_path(directory_, index_)));
  if (new_file_) {
    // The new file's directory entry must be durable too.
    const int dir = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    new_file_ = false;
  }
}

void SegmentWriter::close() {
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace herald::detail
