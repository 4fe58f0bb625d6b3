#include "tools/route/rotating_file.hpp"

#include <cerrno>
#include <cstdio>
#include <system_error>

namespace herald::route {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

RotatingFile::RotatingFile(std::string path, std::uint64_t max_bytes, unsigned keep)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {
  open();
}

RotatingFile::~RotatingFile() {
  if (file_) std::fclose(file_);
}

void RotatingFile::open() {
  file_ = std::fopen(path_.c_str(), "ae");
  if (!file_) throw_errno("cannot open '" + path_ + "' for appending");
  if (std::fseek(file_, 0, SEEK_END) != 0) throw_errno("cannot seek '" + path_ + "'");
  const long size = std::ftell(file_);
  size_ = size > 0 ? static_cast<std::uint64_t>(size) : 0;
}

void RotatingFile::rotate() {
  std::fclose(file_);
  file_ = nullptr;
  auto numbered = [this](unsigned n) { return path_ + "." + std::to_string(n); };
  if (keep_ == 0) {
    if (std::remove(path_.c_str()) != 0 && errno != ENOENT) throw_errno("cannot remove '" + path_ + "'");
  } else {
    std::remove(numbered(keep_).c_str());  // the oldest goes; absent is fine
    for (unsigned n = keep_; n > 1; --n)
      if (std::rename(numbered(n - 1).c_str(), numbered(n).c_str()) != 0 && errno != ENOENT)
        throw_errno("cannot rename '" + numbered(n - 1) + "'");
    if (std::rename(path_.c_str(), numbered(1).c_str()) != 0 && errno != ENOENT)
      throw_errno("cannot rename '" + path_ + "'");
  }
  ++rotations_;
  open();
}

void RotatingFile::append(std::string_view line) {
  std::lock_guard lock(mutex_);
  if (!file_) open();  // a failed rotation left it closed: try again
  if (size_ > 0 && size_ + line.size() + 1 > max_bytes_) rotate();
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fputc('\n', file_) == EOF ||
      std::fflush(file_) != 0)
    throw_errno("cannot write to '" + path_ + "'");
  size_ += line.size() + 1;
}

void RotatingFile::set_limits(std::uint64_t max_bytes, unsigned keep) {
  std::lock_guard lock(mutex_);
  max_bytes_ = max_bytes;
  keep_ = keep;
}

std::uint64_t RotatingFile::rotations() const {
  std::lock_guard lock(mutex_);
  return rotations_;
}

}  // namespace herald::route
