// Issue 8, consumer faults, with the real `herald listen`: a listener SIGKILLed mid-batch loses
// nothing; the credit window bounds what a slow listener holds whatever credit the broker
// grants; a stopped listener hands back what it holds at once so a successor attaches.
#include "tests/integration/fault_support.hpp"

#include <herald/notifier.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <iostream>
#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

double seconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string seq_payload(std::size_t seq, std::size_t pad) {
  return R"({"seq": )" + std::to_string(seq) + R"(, "pad": ")" + std::string(pad, 'p') + R"("})";
}

// Sends `count` notifications {"seq": i} to <topic>.info on `exchange` and waits for every
// confirmation; returns the notifier's figures.
NotifierStats notify_sequence(const std::string& exchange, const std::string& topic, std::size_t count,
                              std::size_t pad) {
  TransportOptions options;
  options.control_exchange = exchange;
  auto transport = Transport::open(broker_url(), options);
  Notifier notifier(transport, {.publisher_id = "fault.test", .topics = {topic}});
  for (std::size_t i = 0; i < count; ++i) notifier.info("{}", "fault.consumer", seq_payload(i, pad));
  notifier.flush(120s);
  return notifier.stats();
}

// Reads the lines of the listeners into one tally until it has `count` distinct seqs or
// `timeout` passed.
ListenTally tally_until(const std::vector<const ChildProcess*>& listeners, std::size_t count,
                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    ListenTally tally;
    for (const auto* listener : listeners)
      for (const auto& line : listener->lines()) tally.add(line);
    if (tally.seqs.size() >= count || std::chrono::steady_clock::now() >= deadline) return tally;
    std::this_thread::sleep_for(250ms);
  }
}

FaultFigures figures_from(const NotifierStats& stats, std::size_t count, const ListenTally& tally) {
  FaultFigures f;
  f.attempted = count;
  f.confirmed = stats.confirmed;
  f.failed = stats.failed;
  f.consumed_unique = tally.seqs.size();
  f.duplicates = tally.lines - tally.unparsable - tally.seqs.size();
  // Every send was confirmed (asserted), so lost = the seqs never printed.
  for (std::size_t i = 0; i < count; ++i)
    if (!tally.seqs.count(static_cast<long long>(i))) ++f.lost;
  return f;
}

// Waits until `queue` has a consumer; false after `timeout`.
bool wait_consumer(const std::string& queue, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto queues = list_queues();
    auto it = queues.find(queue);
    if (it != queues.end() && it->second.consumers > 0) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

// Issue 8: `herald listen` killed with SIGKILL mid-batch (it holds unsettled deliveries), then
// started again: every message is handled at least once, none lost.
TEST(FaultConsumer, HeraldListenSigkilledMidBatchAndRestartedEveryMessageHandledNoneLost) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  Watchdog watchdog(150s);
  constexpr std::size_t kCount = 3'000;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("killed-listener");
  const std::string queue = objects.queue(topic + ".info");
  auto stats = notify_sequence(exchange, topic, kCount, 100);
  ASSERT_EQ(stats.confirmed, kCount) << "the queue could not be filled";

  ChildProcess first(herald_listen_argv(broker_url(), exchange, topic));
  first.set_line_delay(5ms);
  ASSERT_TRUE(first.wait_lines(500, 60s)) << "the first listener printed " << first.line_count() << " lines";
  first.signal(SIGKILL);
  auto first_status = first.wait_exit(10s);
  std::size_t first_lines = first.line_count();
  ChildProcess second(herald_listen_argv(broker_url(), exchange, topic));
  ListenTally tally = tally_until({&first, &second}, kCount, 60s);
  std::this_thread::sleep_for(500ms);
  second.signal(SIGTERM);
  auto second_status = second.wait_exit(20s);
  tally = tally_until({&first, &second}, kCount, 0ms);

  auto f = figures_from(stats, kCount, tally);
  std::cout << "[ fault ] herald listen SIGKILLed after printing " << first_lines << " lines (exit "
            << (first_status ? std::to_string(*first_status) : "?") << "), restarted (exit "
            << (second_status ? std::to_string(*second_status) : "none") << "): " << f.line() << "\n";
  EXPECT_EQ(f.consumed_unique, kCount);
  EXPECT_EQ(f.lost, 0u);
  EXPECT_EQ(tally.unparsable, 0u);
  EXPECT_EQ(second_status, std::optional<int>(0));
  EXPECT_EQ(objects.left_in_queues(), 0u);
}

// Issue table rows 6-7: credit_window=100 and a consumer far slower than the producer. The slow
// consumer is the real `herald listen` whose stdout this test reads at 50 lines/s once it has
// read the first 1,000 (its handler blocks once the pipe is full). The broker's count of
// unacknowledged deliveries must stay at or under 100 at every sample, the listener's RSS flat;
// SIGTERM it and a new listener must attach and receive within 2 s.
TEST(FaultConsumer, CreditWindow100SlowConsumerHoldsAtMost100UnsettledMemoryFlatSuccessorAttachesWithin2s) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  Watchdog watchdog(180s);
  constexpr std::size_t kCount = 10'000;
  constexpr std::size_t kCreditWindow = 100;
  constexpr std::size_t kPad = 1'000;
  constexpr int kSamples = 10;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("slow-listener");
  const std::string queue = objects.queue(topic + ".info");
  const auto listen_argv =
      herald_listen_argv(broker_url("?credit_window=" + std::to_string(kCreditWindow)), exchange, topic);

  ChildProcess slow(listen_argv);
  ASSERT_TRUE(wait_consumer(queue, 30s)) << "the slow listener did not attach";
  std::this_thread::sleep_for(500ms);
  const std::size_t rss_baseline = slow.rss_kb();

  // The listener keeps up at first, then its handler turns slow while the producer goes on: the
  // credit it grants while deliveries are in flight is where RabbitMQ 3.10 over-grants.
  NotifierStats stats;
  std::thread producer([&] { stats = notify_sequence(exchange, topic, kCount, kPad); });
  slow.wait_lines(kCount / 10, 20s);
  slow.set_line_delay(20ms);
  std::size_t max_unacked = 0, max_rss = rss_baseline;
  std::vector<std::size_t> unacked_samples;
  for (int i = 0; i < kSamples; ++i) {
    std::this_thread::sleep_for(500ms);
    auto queues = list_queues();
    auto it = queues.find(queue);
    std::size_t unacked = it == queues.end() ? 0 : it->second.unacked;
    unacked_samples.push_back(unacked);
    max_unacked = std::max(max_unacked, unacked);
    max_rss = std::max(max_rss, slow.rss_kb());
  }
  producer.join();
  ASSERT_EQ(stats.confirmed, kCount) << "the queue could not be filled";
  std::size_t slow_lines = slow.line_count();

  // SIGTERM the slow listener (and read its output fast so it can finish), start a successor.
  auto sigterm_at = std::chrono::steady_clock::now();
  slow.signal(SIGTERM);
  slow.set_line_delay(0us);
  ChildProcess successor(listen_argv);
  bool successor_received = successor.wait_lines(1, 15s);
  double attach_seconds = successor_received ? seconds_between(sigterm_at, *successor.first_line_time()) : -1;
  auto slow_status = slow.wait_exit(30s);
  double slow_stop_seconds = seconds_between(sigterm_at, std::chrono::steady_clock::now());
  ListenTally tally = tally_until({&slow, &successor}, kCount, successor_received ? 60s : 0s);
  std::this_thread::sleep_for(500ms);
  successor.signal(SIGTERM);
  auto successor_status = successor.wait_exit(20s);
  tally = tally_until({&slow, &successor}, kCount, 0ms);

  auto f = figures_from(stats, kCount, tally);
  std::cout << "[ fault ] credit_window=" << kCreditWindow << ", slow consumer (" << slow_lines
            << " lines printed while sampling): messages_unacknowledged samples";
  for (auto u : unacked_samples) std::cout << " " << u;
  std::cout << " (max " << max_unacked << "); listener RSS " << rss_baseline / 1024 << " MB -> max " << max_rss / 1024
            << " MB\n"
            << "[ fault ]   SIGTERM: successor's first message after " << attach_seconds << " s; old listener exited ("
            << (slow_status ? std::to_string(*slow_status) : "no exit") << ") after " << slow_stop_seconds
            << " s; successor exit " << (successor_status ? std::to_string(*successor_status) : "none") << "\n"
            << "[ fault ] credit window with a slow consumer: " << f.line() << "\n";
  EXPECT_LE(max_unacked, kCreditWindow) << "the listener held more deliveries than its credit window";
  EXPECT_LE(max_rss - rss_baseline, 10u * 1024)
      << "listener memory grew by " << (max_rss - rss_baseline) / 1024 << " MB";
  EXPECT_TRUE(successor_received) << "the successor received nothing within 15 s";
  EXPECT_LE(attach_seconds, 2.0) << "the successor must attach and receive within 2 s of the SIGTERM";
  EXPECT_EQ(slow_status, std::optional<int>(0));
  EXPECT_EQ(f.consumed_unique, kCount);
  EXPECT_EQ(f.lost, 0u);
  EXPECT_EQ(objects.left_in_queues(), 0u);
}

}  // namespace
}  // namespace herald::test
