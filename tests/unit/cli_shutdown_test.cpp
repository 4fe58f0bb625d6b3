// The CLI's shutdown plumbing (tools/shutdown): signals reach the watcher thread through the
// self-pipe, the previous handlers come back, and the shutdown budget leaves time to close.
#include "test_support.hpp"

#include "tools/shutdown.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>
#include <vector>

using namespace herald;
using herald::test::eventually;
using namespace std::chrono_literals;

namespace {

extern "C" void previous_handler(int) {}

TEST(CliStopSignals, SignalsArriveOnTheWatcherThreadAndCount) {
  std::atomic<int> last_signal{0}, last_count{0};
  cli::StopSignals signals([&](int signal, int count) {
    last_signal.store(signal);
    last_count.store(count);
  });
  EXPECT_FALSE(signals.requested());
  ::raise(SIGTERM);
  ASSERT_TRUE(eventually([&] { return last_count.load() == 1; }));
  EXPECT_TRUE(signals.requested());
  EXPECT_EQ(signals.first_signal(), SIGTERM);
  EXPECT_EQ(last_signal.load(), SIGTERM);
  ::raise(SIGINT);
  ASSERT_TRUE(eventually([&] { return signals.count() == 2; }));
  EXPECT_EQ(signals.first_signal(), SIGTERM);
  EXPECT_EQ(last_signal.load(), SIGINT);
}

TEST(CliStopSignals, PreviousHandlersAreRestored) {
  struct sigaction mine {};
  mine.sa_handler = previous_handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction saved {};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &saved), 0);
  { cli::StopSignals signals; }
  struct sigaction now {};
  ::sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, &previous_handler);
  ::sigaction(SIGTERM, &saved, nullptr);
}

TEST(CliStopSignals, SighupReloadsWithoutStoppingAndItsHandlerIsRestored) {
  struct sigaction mine {};
  mine.sa_handler = previous_handler;
  sigemptyset(&mine.sa_mask);
  struct sigaction saved {};
  ASSERT_EQ(::sigaction(SIGHUP, &mine, &saved), 0);
  {
    std::atomic<int> reloads{0};
    cli::StopSignals signals({}, [&] { reloads.fetch_add(1); });
    ::raise(SIGHUP);
    ::raise(SIGHUP);
    ASSERT_TRUE(eventually([&] { return reloads.load() == 2; }));
    EXPECT_FALSE(signals.requested()) << "SIGHUP is not a stop signal";
    ::raise(SIGTERM);
    ASSERT_TRUE(eventually([&] { return signals.requested(); }));
    EXPECT_EQ(reloads.load(), 2);
  }
  struct sigaction now {};
  ::sigaction(SIGHUP, nullptr, &now);
  EXPECT_EQ(now.sa_handler, &previous_handler);
  {
    cli::StopSignals without_reload;  // leaves SIGHUP alone
    ::sigaction(SIGHUP, nullptr, &now);
    EXPECT_EQ(now.sa_handler, &previous_handler);
  }
  ::sigaction(SIGHUP, &saved, nullptr);
}

TEST(CliStopSignals, DrainExitCodes) {
  // A stand-in server: done after `waits_left` waits; records the drains it was given.
  struct FakeServer {
    int waits_left;
    std::vector<std::chrono::milliseconds> stops;
    void stop(std::chrono::milliseconds drain) { stops.push_back(drain); }
    bool wait_for(std::chrono::milliseconds) {
      std::this_thread::sleep_for(1ms);
      return --waits_left <= 0;
    }
  };
  cli::StopSignals signals;
  ::raise(SIGTERM);
  ASSERT_TRUE(eventually([&] { return signals.count() == 1; }));
  FakeServer quick{2, {}};
  const cli::DrainResult drained = cli::drain_until_deadline(quick, signals, cli::shutdown_budget(5));
  EXPECT_TRUE(drained.done);
  EXPECT_EQ(quick.stops, std::vector<std::chrono::milliseconds>{3000ms});
  EXPECT_EQ(cli::signal_stop_exit_code(signals, true, 0), cli::kExitOk);
  EXPECT_EQ(cli::signal_stop_exit_code(signals, true, 4), cli::kExitIncomplete);
  EXPECT_EQ(cli::signal_stop_exit_code(signals, false, 0), cli::kExitIncomplete);
  ::raise(SIGTERM);
  ASSERT_TRUE(eventually([&] { return signals.count() == 2; }));
  FakeServer stuck{1'000'000, {}};
  const cli::DrainResult cut = cli::drain_until_deadline(stuck, signals, cli::shutdown_budget(0.2));
  EXPECT_FALSE(cut.done);
  ASSERT_GE(stuck.stops.size(), 2u);
  EXPECT_EQ(stuck.stops.back(), 0ms) << "a second signal releases at once";
  EXPECT_EQ(cli::signal_stop_exit_code(signals, true, 0), 128 + SIGTERM);
}

TEST(CliStopSignals, BudgetLeavesTimeToCloseAfterTheDrain) {
  EXPECT_EQ(cli::shutdown_budget(5).total, 5000ms);
  EXPECT_EQ(cli::shutdown_budget(5).drain, 3000ms);
  EXPECT_EQ(cli::shutdown_budget(10).drain, 7500ms);  // the reserve is at most 2.5 s
  EXPECT_EQ(cli::shutdown_budget(0).drain, 0ms);
  EXPECT_EQ(cli::signal_exit_code(SIGTERM), 143);
  EXPECT_EQ(cli::signal_name(SIGINT), "SIGINT");
}

}  // namespace
