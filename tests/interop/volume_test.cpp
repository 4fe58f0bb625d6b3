// 1,000 notifications each way through RabbitMQ: nothing lost, every field equal.
#include "tests/interop/oslo_checks.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace herald::interop {
namespace {

constexpr int kVolume = 1000;

TEST(OsloVolume, OsloToHerald1000) {
  auto start = std::chrono::steady_clock::now();
  run_oslo_to_herald("messagingv2", "", kVolume);
  std::printf("oslo -> Herald: %d notifications in %.1f s (including the Python start-up)\n", kVolume,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

TEST(OsloVolume, HeraldToOslo1000) {
  auto start = std::chrono::steady_clock::now();
  run_herald_to_oslo("messagingv2", "", kVolume);
  std::printf("Herald -> oslo: %d notifications in %.1f s (including the Python start-up)\n", kVolume,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace
}  // namespace herald::interop
