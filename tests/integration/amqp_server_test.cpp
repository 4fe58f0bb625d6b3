// Notifier -> RabbitMQ -> NotificationServer, end to end through the public API.
#include "tests/integration/amqp_support.hpp"
#include "tests/support/handler_gate.hpp"

#include <herald/endpoint.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/target.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

TEST(AmqpServer, NotifierToNotificationServerAllPriorities) {
  TransportOptions options;
  options.control_exchange = unique_name("exchange");
  auto transport = Transport::open(broker_url(), options);
  const std::string topic = unique_name("notifications");
  constexpr int kPerPriority = 20;

  std::array<std::atomic<int>, kPriorityCount> received{};
  Endpoint endpoint("count");
  endpoint.on(std::span<const Priority>(kAllPriorities), [&](const Notification& n) {
    ++received[index_of(n.priority)];
    return Result::handled;
  });
  NotificationServer server(transport, {Target{.topic = topic}}, {endpoint}, {.workers = 2});
  server.start();  // declares the seven queues

  Notifier notifier(transport, {.publisher_id = "compute.host1", .topics = {topic}});
  for (int i = 0; i < kPerPriority; ++i)
    for (Priority priority : kAllPriorities) notifier.notify(priority, "{}", "compute.instance.update", R"({"n":1})");
  ASSERT_TRUE(notifier.flush(10s).ok());

  auto deadline = std::chrono::steady_clock::now() + 15s;
  auto all_in = [&] {
    for (auto& count : received)
      if (count < kPerPriority) return false;
    return true;
  };
  while (!all_in() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  server.stop();
  server.wait();
  for (Priority priority : kAllPriorities) EXPECT_EQ(received[index_of(priority)], kPerPriority) << to_string(priority);
}

// A stop with a drain period handles what the listener had already prefetched (up to the
// credit window) instead of sending it back: `herald listen` stopped by SIGTERM exits 0 with
// nothing released when its handlers keep up. Workers poll the listener directly, so these
// deliveries were never "taken" by the server; they used to go back and count as released.
TEST(AmqpServer, StopWithADrainHandlesWhatWasPrefetchedAndTakesNothingMore) {
  constexpr int kCount = 200;
  constexpr std::size_t kWindow = 50;
  TransportOptions options;
  options.control_exchange = unique_name("exchange");
  auto transport = Transport::open(broker_url(), options);
  const std::string topic = unique_name("drain");

  HandlerGate gate;
  Endpoint endpoint("gated");
  endpoint.on(Priority::info, [&](const Notification&) {
    gate.pass();
    return Result::handled;
  });
  NotificationServer server(transport, {Target{.topic = topic}}, {endpoint}, {.workers = 1, .credit_window = kWindow});
  server.start();
  Notifier notifier(transport, {.publisher_id = "drain", .topics = {topic}});
  for (int i = 0; i < kCount; ++i) notifier.notify(Priority::info, "{}", "drain.test", R"({"n":1})");
  ASSERT_TRUE(notifier.flush(10s).ok());
  ASSERT_TRUE(gate.wait_arrived(10s));
  std::this_thread::sleep_for(300ms);  // the listener fills its window meanwhile
  server.stop(10s);
  std::this_thread::sleep_for(300ms);  // credit granted before the stop may still arrive
  gate.open();
  ASSERT_TRUE(server.wait_for(15s));
  ServerStats first = server.stats();

  // A second server gets exactly the rest.
  std::atomic<int> rest{0};
  Endpoint counter("count");
  counter.on(Priority::info, [&](const Notification&) {
    ++rest;
    return Result::handled;
  });
  NotificationServer second(transport, {Target{.topic = topic}}, {counter}, {.workers = 1});
  second.start();
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (first.handled + rest < kCount && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(200ms);
  second.stop();
  second.wait();
  std::cout << "[ drain ] first server: received " << first.received << ", handled " << first.handled << ", released "
            << first.released << "; second server handled " << rest << " of " << kCount << "\n";
  EXPECT_GT(first.handled, 1u) << "the listener had prefetched more than the one being handled";
  EXPECT_LE(first.received, kWindow * 2) << "at most the window, plus credit granted before the stop";
  EXPECT_EQ(first.released, 0u) << "prefetched deliveries were sent back instead of handled";
  EXPECT_EQ(first.handled, first.received);
  EXPECT_EQ(first.handled + rest, static_cast<std::uint64_t>(kCount));
}

// A stopped listener's detach deadline and the wait for the broker's close reply used to be
// Proton timers, which keep the I/O thread running until they fire: closing the transport (and
// so `herald listen --count N` exiting) waited out detach_timeout after the broker had answered.
TEST(AmqpServer, ClosingTheTransportAfterAServerStoppedDoesNotWaitOutTheDetachTimeout) {
  using Clock = std::chrono::steady_clock;
  const std::string topic = unique_name("closing");
  Clock::time_point closing_from;
  {
    TransportOptions options;
    options.control_exchange = unique_name("exchange");
    auto transport = Transport::open(broker_url("?detach_timeout=30"), options);
    std::atomic<int> received{0};
    Endpoint endpoint("count");
    endpoint.on(Priority::info, [&](const Notification&) {
      ++received;
      return Result::handled;
    });
    NotificationServer server(transport, {Target{.topic = topic}}, {endpoint}, {.workers = 1});
    server.start();
    Notifier notifier(transport, {.publisher_id = "svc", .topics = {topic}});
    for (int i = 0; i < 10; ++i) notifier.info("{}", "e", "{}");
    ASSERT_TRUE(notifier.flush(10s).ok());
    for (auto until = Clock::now() + 10s; received < 10 && Clock::now() < until;) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(received, 10);
    const auto stop_from = Clock::now();
    server.stop();
    server.wait();
    std::printf("server stop and wait: %lld ms\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stop_from).count()));
    closing_from = Clock::now();
  }  // the notifier, the server and the transport go: the connection closes
  const auto closing = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - closing_from);
  std::printf("closing the transport: %lld ms\n", static_cast<long long>(closing.count()));
  EXPECT_LT(closing, 15s) << "closing waited for the 30 s detach timeout";
}

}  // namespace
}  // namespace herald::test
