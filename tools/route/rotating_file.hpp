#pragma once
// An append-only file of lines with size-based rotation (logrotate's numbering: path.1 is the
// newest rotated file, path.N the oldest; the one past `keep` is deleted).

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace herald::route {

/// **Thread safety:** thread-safe; append() calls are serialised, each line is written whole.
class RotatingFile {
 public:
  /// Opens (creates) `path` for appending. @throws std::system_error when it cannot.
  RotatingFile(std::string path, std::uint64_t max_bytes, unsigned keep);
  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  /// Appends `line` and a newline, then flushes to the kernel (a process crash loses nothing
  /// that was acknowledged; a machine crash may). Rotates first when the file is not empty and
  /// the line would take it past max_bytes (a longer line gets a file of its own).
  /// @throws std::system_error when writing, renaming or reopening fails.
  void append(std::string_view line);
  /// New limits, applied from the next append (a reload may change them).
  void set_limits(std::uint64_t max_bytes, unsigned keep);
  const std::string& path() const noexcept { return path_; }
  /// How many rotations happened.
  std::uint64_t rotations() const;

 private:
  void open();
  void rotate();
  const std::string path_;
  mutable std::mutex mutex_;
  std::uint64_t max_bytes_;
  unsigned keep_;
  std::FILE* file_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t rotations_ = 0;
};

}  // namespace herald::route
