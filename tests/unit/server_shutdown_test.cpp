// NotificationServer::stop(drain_timeout) and wait_for(timeout) on memory://: messages taken are
// handled until the drain deadline, the rest released; nothing is lost; wait_for honours its
// deadline while a handler is stuck.
#include "test_support.hpp"
#include "tests/support/handler_gate.hpp"

#include <gtest/gtest.h>

#include <atomic>

using namespace herald;
using herald::test::eventually;
using herald::test::HandlerGate;
using namespace std::chrono_literals;

namespace {

Endpoint slow(std::atomic<int>& handled, std::chrono::milliseconds delay) {
  Endpoint e{"slow"};
  e.on(Priority::info, [&handled, delay](const Notification&) {
    std::this_thread::sleep_for(delay);
    handled.fetch_add(1);
    return Result::handled;
  });
  return e;
}

void send(const std::shared_ptr<Transport>& transport, int count) {
  Notifier notifier(transport, {});
  for (int i = 0; i < count; ++i) notifier.info("{}", "e", "{}");
  ASSERT_TRUE(notifier.flush(5s).ok());
}

TEST(ServerShutdown, DrainHandlesWhatWasTakenWhenTheDeadlineAllows) {
  auto transport = Transport::open("memory://");
  std::atomic<int> handled{0};
  NotificationServer server(transport, {Target{}}, {slow(handled, 5ms)}, {.workers = 1});
  send(transport, 40);
  server.start();
  ASSERT_TRUE(eventually([&] { return server.stats().received == 40; }));
  server.stop(5s);
  EXPECT_TRUE(server.wait_for(6s));
  ServerStats s = server.stats();
  EXPECT_EQ(handled.load(), 40);
  EXPECT_EQ(s.handled, 40u);
  EXPECT_EQ(s.released, 0u);
  EXPECT_EQ(s.in_progress, 0u);
}

// A worker takes a batch at a time: at the drain deadline what it took and has not started is
// released; what it never took stayed in the queue. Either way a new server gets all of it.
TEST(ServerShutdown, AtTheDeadlineTheRestIsReleasedAndNothingIsLost) {
  auto transport = Transport::open("memory://");
  std::atomic<int> handled{0};
  {
    NotificationServer server(transport, {Target{}}, {slow(handled, 50ms)}, {.workers = 1});
    send(transport, 100);
    server.start();
    ASSERT_TRUE(eventually([&] { return server.stats().received > 10; }));
    const auto start = std::chrono::steady_clock::now();
    server.stop(300ms);
    EXPECT_TRUE(server.wait_for(2s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    ServerStats s = server.stats();
    EXPECT_GT(s.released, 0u);
    EXPECT_GT(s.handled, 0u);
    EXPECT_EQ(s.handled + s.released, s.received);
    EXPECT_EQ(s.in_progress, 0u);
    EXPECT_EQ(static_cast<std::uint64_t>(handled.load()), s.handled);
  }
  // The released messages and those never taken are in their queue: a new server handles
  // exactly those.
  std::atomic<int> again{0};
  NotificationServer second(transport, {Target{}}, {slow(again, 0ms)}, {.workers = 2});
  second.start();
  EXPECT_TRUE(eventually([&] { return handled.load() + again.load() == 100; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(handled.load() + again.load(), 100);
}

TEST(ServerShutdown, WaitForReturnsFalseWhileAHandlerIsStuckThenTrue) {
  auto transport = Transport::open("memory://");
  HandlerGate gate;
  Endpoint stuck{"stuck"};
  stuck.on(Priority::info, [&](const Notification&) {
    gate.pass();
    return Result::handled;
  });
  NotificationServer server(transport, {Target{}}, {stuck}, {.workers = 1});
  server.start();
  send(transport, 1);
  ASSERT_TRUE(gate.wait_arrived(5s));
  EXPECT_FALSE(server.wait_for(50ms)) << "not stopped yet";
  server.stop(0ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(server.wait_for(200ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  gate.open();
  EXPECT_TRUE(server.wait_for(5s));
  EXPECT_EQ(server.stats().handled, 1u);
  server.wait();  // idempotent after wait_for
}

TEST(ServerShutdown, ASecondStopShortensTheDrain) {
  auto transport = Transport::open("memory://");
  std::atomic<int> handled{0};
  NotificationServer server(transport, {Target{}}, {slow(handled, 20ms)}, {.workers = 1});
  send(transport, 200);
  server.start();
  ASSERT_TRUE(eventually([&] { return server.stats().received > 20; }));
  server.stop(60s);
  std::this_thread::sleep_for(100ms);
  server.stop();  // e.g. a second SIGTERM: release now
  EXPECT_TRUE(server.wait_for(2s));
  ServerStats s = server.stats();
  EXPECT_EQ(s.handled + s.released, s.received);
  // A worker's batch takes longer than 100 ms at 20 ms each: most of it is released.
  EXPECT_GT(s.released, s.handled) << s.received << " taken";
}

TEST(ServerShutdown, RestartAfterADrainedStopConsumesAgain) {
  auto transport = Transport::open("memory://");
  std::atomic<int> handled{0};
  NotificationServer server(transport, {Target{}}, {slow(handled, 0ms)});
  server.start();
  send(transport, 3);
  ASSERT_TRUE(eventually([&] { return handled.load() == 3; }));
  server.stop(1s);
  ASSERT_TRUE(server.wait_for(5s));
  server.start();
  send(transport, 2);
  EXPECT_TRUE(eventually([&] { return handled.load() == 5; }));
}

}  // namespace
