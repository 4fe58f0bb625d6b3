// Issue 8, topology faults: "confirmed" means queued. A declaration that fails makes the sends
// fail with a reason naming the mismatch (never "confirmed and dropped"); a management API that
// hangs never holds notify(); a queue deleted under a live sender is declared again within the
// check interval; a full reject-publish queue fails sends clearly, quietly, with a backoff.
#include "tests/integration/fault_support.hpp"
#include "tests/support/test_url_options.hpp"

#include <herald/error.hpp>
#include <herald/notifier.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Issue table row 3: an exchange already declared with another `durable` flag. Herald declares
// durable=false by default; the exchange exists with durable=true (and the other way round when
// HERALD_TEST_URL_OPTIONS makes Herald declare durable, as the RabbitMQ 4 stage does).
TEST(FaultTopology, ExchangeExistsWithOtherDurableFlagSendsFailNamingDurableNoneConfirmedButDropped) {
  Watchdog watchdog(120s);
  constexpr std::size_t kCount = 100;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string key = objects.queue(unique_name("t") + ".info");
  const bool herald_durable = test_options_declare_durable();
  ASSERT_LT(declare_exchange(exchange, !herald_durable), 300);
  CapturedLog log;
  TransportOptions options;
  options.logger = log.logger;
  auto transport = Transport::open(broker_url(), options);
  Ledger ledger(kCount);
  auto started = std::chrono::steady_clock::now();
  double longest_send = 0;
  for (std::size_t i = 0; i < kCount; ++i) {
    auto before = std::chrono::steady_clock::now();
    transport->driver().send(message(exchange, key, Ledger::body_for(i)), ledger.on_outcome(i));
    longest_send = std::max(longest_send, seconds_since(before));
  }
  bool all_outcomes = ledger.wait_outcomes(kCount, 60s);
  double outcome_seconds = seconds_since(started);
  // Whatever was "confirmed" must be in a queue: drain the queue if anything declared it.
  bool queue_declared = queue_exists(key);
  if (queue_declared) drain_queue(exchange, key, key, ledger, 10s);
  transport.reset();

  std::cout << "[ fault ] durable mismatch: outcomes after " << outcome_seconds << " s; longest send() "
            << longest_send * 1000 << " ms; queue " << key << (queue_declared ? " was" : " was not") << " declared\n";
  print_figures(herald_durable ? "exchange exists with durable=false, Herald declares durable=true"
                               : "exchange exists with durable=true, Herald declares durable=false",
                ledger, &log);
  auto f = ledger.figures();
  std::cout << "[ fault ]   confirmed_but_dropped=" << f.lost << "\n";
  EXPECT_TRUE(all_outcomes) << ledger.outcomes() << " of " << kCount << " outcomes in 60 s";
  EXPECT_EQ(f.lost, 0u) << "sends confirmed although no queue was bound: dropped by the broker";
  EXPECT_EQ(f.confirmed, 0u);
  EXPECT_EQ(f.failed, kCount);
  EXPECT_EQ(ledger.first_error(), make_error_code(Errc::precondition_failed))
      << ledger.first_error().message() << ": " << ledger.first_reason();
  EXPECT_NE(ledger.first_reason().find("durable"), std::string::npos) << ledger.first_reason();
  EXPECT_LT(longest_send, 0.25) << "send() did the declaration on the caller's thread";
  EXPECT_LE(log_warnings(log), 3u) << "failures are logged once per cause, not once per message:\n"
                                   << log.text().substr(0, 3000);
}

// Issue 8, "a management host that is unreachable or accepts and never answers must not hold
// notify() past its bound". `port` is where management_port points.
void notify_with_silent_management(int port, const std::string& what) {
  constexpr int kCount = 20;
  BrokerObjects objects;
  TransportOptions options;
  options.control_exchange = objects.exchange(unique_name("x"));
  CapturedLog log;
  options.logger = log.logger;
  const std::string topic = unique_name("silent-mgmt");
  objects.queue(topic + ".info");
  auto opened = std::chrono::steady_clock::now();
  auto transport = Transport::open(broker_url("?management_port=" + std::to_string(port)), options);
  double open_seconds = seconds_since(opened);
  std::mutex mutex;
  std::vector<SendFailure> failures;
  NotifierOptions notifier_options;
  notifier_options.publisher_id = "fault.test";
  notifier_options.topics = {topic};
  notifier_options.logger = log.logger;
  notifier_options.on_error = [&](const SendFailure& failure) {
    std::lock_guard lock(mutex);
    failures.push_back(failure);
  };
  double longest_notify = 0;
  double total_notify = 0;
  {
    Notifier notifier(transport, notifier_options);
    // The notifies run on their own thread: on a blocking implementation they hang for minutes,
    // and the test reports that instead of waiting.
    std::atomic<int> done{0};
    std::atomic<bool> finished{false};
    std::thread caller([&] {
      for (int i = 0; i < kCount; ++i) {
        auto before = std::chrono::steady_clock::now();
        notifier.info("{}", "fault.silent_management", R"({"seq": )" + std::to_string(i) + "}");
        double took = seconds_since(before);
        longest_notify = std::max(longest_notify, took);
        total_notify += took;
        ++done;
      }
      finished = true;
    });
    auto limit = std::chrono::steady_clock::now() + 15s;
    while (!finished && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(10ms);
    if (!finished) {
      std::cout << "[ fault ] management port " << what << ": notify() #" << done + 1 << " still blocked after 15 s ("
                << done << " returned before it, the longest in " << longest_notify * 1000 << " ms)" << std::endl;
      ADD_FAILURE() << "notify() blocked the caller for more than 15 s (management port " << what << ")";
      // The caller thread cannot be joined or cancelled: end the process with the failure.
      std::fflush(stdout);
      std::_Exit(1);
    }
    caller.join();
    std::this_thread::sleep_for(2s);
    auto stats = notifier.stats();
    std::cout << "[ fault ] management port " << what << ": Transport::open " << open_seconds * 1000
              << " ms; longest notify() " << longest_notify * 1000 << " ms, all " << kCount << " in "
              << total_notify * 1000 << " ms; 2 s later: confirmed=" << stats.confirmed << " failed=" << stats.failed
              << " pending=" << stats.pending << "\n";
    EXPECT_EQ(stats.confirmed, 0u) << "confirmed although nothing could be declared";
  }
  auto destroying = std::chrono::steady_clock::now();
  transport.reset();
  double destroy_seconds = seconds_since(destroying);
  {
    std::lock_guard lock(mutex);
    std::cout << "[ fault ]   transport destroyed in " << destroy_seconds << " s; " << failures.size()
              << " failures reported";
    if (!failures.empty())
      std::cout << ", first: " << failures.front().error.message() << ": " << failures.front().reason;
    std::cout << "\n";
  }
  for (const auto& line : log_sample(log, 5)) std::cout << "[ fault ]     " << line.substr(0, 300) << "\n";
  EXPECT_LT(open_seconds, 0.5) << "Transport::open waited for the management API";
  EXPECT_LT(longest_notify, 0.25) << "notify() must return within milliseconds, never seconds";
  EXPECT_LT(destroy_seconds, 7.0) << "the transport's destructor waited past declare_timeout (5 s)";
}

TEST(FaultTopology, ManagementPortAcceptingButSilentNotifyReturnsWithinBound) {
  Watchdog watchdog(60s);
  SilentTcpServer silent;
  notify_with_silent_management(silent.port(), "accepting but silent");
}

TEST(FaultTopology, ManagementPortBlackholedNotifyReturnsWithinBound) {
  Watchdog watchdog(60s);
  BlackholeTcpPort blackhole;
  ASSERT_TRUE(blackhole.works()) << "could not make a port whose connects hang (full backlog)";
  notify_with_silent_management(blackhole.port(), "blackholed (connects never complete)");
}

// Issue table row 5: the queue is deleted (as `rabbitmqctl delete_queue` would) under a live
// listener and a live sender. RabbitMQ 3.10 accepts unroutable messages silently, so the sender
// re-checks its topology every `topology_check_interval` (1 s): what is confirmed and dropped is
// bounded by rate x (interval + 1 s). The listener must re-declare and re-attach quickly.
TEST(FaultTopology, QueueDeletedUnderLiveListenerAndSenderLossBoundedByCheckInterval) {
  Watchdog watchdog(120s);
  constexpr std::size_t kCount = 12'000;
  constexpr double kRate = 1000;
  constexpr double kCheckInterval = 1.0;
  StreamRig rig(kCount);
  Ledger& ledger = rig.ledger;

  std::chrono::steady_clock::time_point deleted_at;
  std::size_t sent_at_delete = 0;
  int delete_status = 0;
  std::thread deleter([&] {
    auto limit = std::chrono::steady_clock::now() + 30s;
    while (ledger.outcomes() < 3'000 && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(10ms);
    sent_at_delete = ledger.figures().attempted;
    deleted_at = std::chrono::steady_clock::now();
    delete_status = delete_queue(rig.key);
  });
  send_paced(kCount, kRate, [&](std::size_t i) { rig.send(i); });
  deleter.join();
  bool all_outcomes = ledger.wait_outcomes(kCount, 60s);
  ledger.wait_consumed(5s);  // what is lost never comes: do not wait long for it
  rig.stop_consumer();

  // The longest pause in consumption from just before the deletion on: how long the listener
  // stayed detached (the stream is steady at kRate).
  double stalled = rig.consumer.longest_pause(deleted_at - 500ms);
  auto f = ledger.figures();
  const double bound = kRate * (kCheckInterval + 1.0);
  std::cout << "[ fault ] queue deleted (HTTP " << delete_status << ") after " << sent_at_delete
            << " sends: confirmed_but_lost=" << f.lost << " (bound " << bound << "; "
            << ledger.lost_between(sent_at_delete, kCount) << " of them sent after the deletion); consumption "
            << "stalled for " << stalled << " s\n";
  print_figures("queue deleted under a live listener and sender", ledger, &rig.log);
  for (const auto& line : log_sample(rig.listener_log, 5))
    std::cout << "[ fault ]   listener: " << line.substr(0, 300) << "\n";
  EXPECT_EQ(delete_status, 204);
  EXPECT_TRUE(all_outcomes);
  EXPECT_EQ(f.failed, 0u) << ledger.first_error().message() << ": " << ledger.first_reason();
  EXPECT_LE(static_cast<double>(f.lost), bound) << "confirmed but dropped beyond the check interval";
  // RabbitMQ 4 releases what it cannot route instead of confirming it: Herald re-declares and
  // resends, so nothing confirmed is lost at all.
  if (const char* version = std::getenv("RMQ_VERSION"); version && std::string(version) == "4") {
    EXPECT_EQ(f.lost, 0u) << "RabbitMQ 4 must not confirm what it dropped";
  }
  EXPECT_LT(stalled, 5.0) << "the listener took too long to re-declare and re-attach";
  EXPECT_EQ(rig.objects.left_in_queues(), 0u);
}

// Issue table row 8: a max-length queue with overflow=reject-publish, full. On 3.10 each broker
// nack crashes the AMQP 1.0 session. The sends must fail with a clear reason, the log must stay
// quiet (no line per message), and the client must back off instead of reconnecting and
// resending into the full queue at full speed.
TEST(FaultTopology, FullRejectPublishQueueFailsWithClearReasonFewLogLinesAndBacksOff) {
  Watchdog watchdog(120s);
  constexpr std::size_t kCount = 3'000;
  constexpr std::size_t kMaxLength = 100;
  constexpr auto kObserve = 30s;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string key = objects.queue(unique_name("t") + ".info");
  // Declared here with Herald's flags (durable=false unless HERALD_TEST_URL_OPTIONS says durable,
  // as on RabbitMQ 4 with transient non-exclusive queues denied); topology=none below.
  const bool durable = test_options_declare_durable();
  ASSERT_LT(declare_exchange(exchange, durable), 300);
  ASSERT_LT(declare_queue(key, durable,
                          R"({"x-max-length": )" + std::to_string(kMaxLength) + R"(, "x-overflow": "reject-publish"})"),
            300);
  ASSERT_LT(bind_queue(exchange, key, key), 300);
  CapturedLog log;
  TransportOptions options;
  options.logger = log.logger;
  auto started = std::chrono::steady_clock::now();
  auto transport = Transport::open(broker_url("?topology=none"), options);
  Ledger ledger(kCount);
  for (std::size_t i = 0; i < kCount; ++i)
    transport->driver().send(message(exchange, key, Ledger::body_for(i)), ledger.on_outcome(i));
  double send_seconds = seconds_since(started);
  ledger.wait_outcomes(kCount, std::chrono::duration_cast<std::chrono::milliseconds>(kObserve));
  double outcomes_seconds = seconds_since(started);
  std::this_thread::sleep_until(started + kObserve);
  std::size_t outcomes = ledger.outcomes();
  std::size_t attempts = log.count("connecting to");
  std::size_t lines = log_warnings(log);
  std::string log_text = log.text();
  transport.reset();

  drain_queue(exchange, key, key, ledger, 10s);

  auto f = ledger.figures();
  std::cout << "[ fault ] reject-publish (max-length " << kMaxLength << "): " << kCount << " sends in " << send_seconds
            << " s; " << outcomes << " outcomes after " << outcomes_seconds << " s; in "
            << std::chrono::duration<double>(kObserve).count() << " s: " << lines << " warning/error log lines, "
            << attempts << " connection attempts\n";
  print_figures("full reject-publish queue", ledger, &log);
  EXPECT_EQ(outcomes, kCount) << "every send must get its outcome within " << kObserve.count() << " s";
  EXPECT_LE(f.confirmed, kMaxLength + 0u);
  EXPECT_GE(f.failed, kCount - kMaxLength);
  EXPECT_EQ(f.lost, 0u);
  auto first = ledger.first_error();
  EXPECT_TRUE(first == make_error_code(Errc::overflow) || first == make_error_code(Errc::rejected))
      << first.message() << ": " << ledger.first_reason();
  std::string reason = ledger.first_reason();
  EXPECT_TRUE(reason.find("reject-publish") != std::string::npos || reason.find("full") != std::string::npos)
      << "the reason must say the queue is full: \"" << reason << "\"";
  EXPECT_LE(lines, 12u) << "at most a few warnings per 10 s:\n" << log_text.substr(0, 3000);
  // 3.10 resets the connection ~3.7 s after each nack, so even without a backoff there are only
  // ~8 attempts in 30 s (what the code before issue 8 does); a backoff after a nack (e.g. 1 s
  // doubling) gives at most 5.
  EXPECT_LE(attempts, 6u) << "the client must back off after a nack, not reconnect at once";
  EXPECT_EQ(objects.left_in_queues(), 0u);
}

}  // namespace
}  // namespace herald::test
