#include "core/ids.hpp"

#include <random>

namespace herald::detail {
namespace {

// splitmix64's finaliser: a bijection on 64-bit integers with good avalanche.
constexpr std::uint64_t mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t random_u64(std::random_device& device) {
  return (static_cast<std::uint64_t>(device()) << 32) ^ static_cast<std::uint64_t>(device());
}

constexpr char kHex[] = "0123456789abcdef";

void put_hex(char* at, std::uint64_t value, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i) {
    at[i] = kHex[value & 0xF];
    value >>= 4;
  }
}

}  // namespace

IdGenerator::IdGenerator() {
  std::random_device device;
  seed_hi_ = random_u64(device);
  seed_lo_ = random_u64(device);
}

// A uuid has 122 free bits. The first 64 of them come from mix(counter ^ seed_lo_), a bijection
// of the counter, so ids never repeat within 2^64 calls; the other 58 bits come from a second
// mixer keyed by seed_hi_ and only add unpredictability.
void IdGenerator::next(std::uint64_t& hi, std::uint64_t& lo) {
  const std::uint64_t count = counter_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t unique = mix(count ^ seed_lo_);
  const std::uint64_t extra = mix((count + 0x9e3779b97f4a7c15ULL) ^ seed_hi_);
  const std::uint64_t top60 = unique >> 4;
  // hi: 48 bits, version nibble 4, 12 bits.
  hi = ((top60 >> 12) << 16) | 0x4000ULL | (top60 & 0xFFFULL);
  // lo: variant bits 10, 4 bits of `unique`, 58 bits of `extra`.
  lo = (0x2ULL << 62) | ((unique & 0xFULL) << 58) | (extra & ((1ULL << 58) - 1));
}

std::string IdGenerator::message_id() {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  next(hi, lo);
  std::string text(36, '-');
  put_hex(text.data(), hi >> 32, 8);
  put_hex(text.data() + 9, (hi >> 16) & 0xFFFF, 4);
  put_hex(text.data() + 14, hi & 0xFFFF, 4);
  put_hex(text.data() + 19, lo >> 48, 4);
  put_hex(text.data() + 24, lo & 0xFFFFFFFFFFFFULL, 12);
  return text;
}

std::string IdGenerator::unique_id() {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  next(hi, lo);
  std::string text(32, '0');
  put_hex(text.data(), hi, 16);
  put_hex(text.data() + 16, lo, 16);
  return text;
}

}  // namespace herald::detail
