#pragma once
// Identifier generation for the notify path: uuid4-shaped message ids and oslo `_unique_id`s.

#include <atomic>
#include <cstdint>
#include <string>

namespace herald::detail {

/// Generates random-looking, unique uuid4 identifiers quickly: a 128-bit random seed taken
/// from std::random_device at construction, plus an atomic counter, mixed through a bijective
/// 64-bit mixer. Not for cryptographic use; unique per generator for 2^64 calls.
/// **Thread safety:** thread-safe (lock-free).
class IdGenerator {
 public:
  IdGenerator();
  /// A uuid4 in canonical text form (36 chars, lower-case hex, hyphens, version 4, variant 10).
  std::string message_id();
  /// A uuid4 as 32 lower-case hex chars without hyphens (Python `uuid4().hex`).
  std::string unique_id();

 private:
  void next(std::uint64_t& hi, std::uint64_t& lo);
  std::uint64_t seed_hi_;
  std::uint64_t seed_lo_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace herald::detail
