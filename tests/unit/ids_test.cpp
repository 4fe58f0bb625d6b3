// IdGenerator: uuid4 shape, uniqueness, concurrent use.

#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace herald::detail {
namespace {

TEST(IdGenerator, MessageIdIsCanonicalUuid4) {
  static const std::regex uuid4(R"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})");
  IdGenerator ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = ids.message_id();
    ASSERT_EQ(id.size(), 36u);
    ASSERT_TRUE(std::regex_match(id, uuid4)) << id;
  }
}

TEST(IdGenerator, UniqueIdIsUuid4Hex) {
  static const std::regex hex(R"([0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15})");
  IdGenerator ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = ids.unique_id();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_TRUE(std::regex_match(id, hex)) << id;
  }
}

TEST(IdGenerator, NoDuplicatesInAMillion) {
  IdGenerator ids;
  std::unordered_set<std::string> seen;
  seen.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i) ASSERT_TRUE(seen.insert(ids.message_id()).second) << "duplicate at " << i;
}

TEST(IdGenerator, GeneratorsAreSeededDifferently) {
  IdGenerator a;
  IdGenerator b;
  EXPECT_NE(a.message_id(), b.message_id());
}

TEST(IdGenerator, BitsLookRandom) {
  // Each of the 122 free bits should be set in roughly half of the ids.
  IdGenerator ids;
  constexpr int kSamples = 20000;
  std::vector<int> ones(32 * 4, 0);
  for (int i = 0; i < kSamples; ++i) {
    const std::string id = ids.unique_id();
    for (std::size_t digit = 0; digit < 32; ++digit) {
      const int value = std::stoi(id.substr(digit, 1), nullptr, 16);
      for (int bit = 0; bit < 4; ++bit) ones[digit * 4 + static_cast<std::size_t>(bit)] += (value >> bit) & 1;
    }
  }
  for (std::size_t bit = 0; bit < ones.size(); ++bit) {
    const std::size_t digit = bit / 4;
    if (digit == 12 || (digit == 16 && bit % 4 >= 2)) continue;  // version nibble, variant bits
    EXPECT_GT(ones[bit], kSamples * 45 / 100) << "bit " << bit;
    EXPECT_LT(ones[bit], kSamples * 55 / 100) << "bit " << bit;
  }
}

TEST(IdGenerator, ConcurrentUseFromFourThreads) {
  IdGenerator ids;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100'000;
  std::vector<std::vector<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, &out = results[static_cast<std::size_t>(t)]] {
      out.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) out.push_back(i % 2 ? ids.message_id() : ids.unique_id());
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::unordered_set<std::string> seen;
  for (const auto& list : results)
    for (const std::string& id : list) {
      // Normalise both forms to 32 hex digits: the two share one counter, so they must not collide.
      std::string hex;
      for (char c : id)
        if (c != '-') hex.push_back(c);
      ASSERT_TRUE(seen.insert(hex).second) << "duplicate " << id;
    }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace herald::detail
