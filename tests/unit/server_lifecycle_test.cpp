// NotificationServer lifecycle: start/stop/wait idempotence, destructor at any point, restart,
// stop letting in-flight handlers finish.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>

using namespace herald;
using herald::test::eventually;

namespace {

Endpoint counting(std::atomic<int>& counter) {
  Endpoint e{"count"};
  e.on(Priority::info, [&counter](const Notification&) {
    counter.fetch_add(1);
    return Result::handled;
  });
  return e;
}

TEST(ServerLifecycle, StopAndWaitBeforeStartDoNothing) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting(got)});
  server.stop();
  server.wait();
  server.stop();
}

TEST(ServerLifecycle, StartStopWaitTwiceEach) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting(got)});
  server.start();
  server.start();
  server.stop();
  server.stop();
  server.wait();
  server.wait();
}

TEST(ServerLifecycle, DestructorWithoutStopJoinsCleanly) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  {
    NotificationServer server(transport, {Target{}}, {counting(got)});
    server.start();
    Notifier(transport, {}).info("{}", "e", "{}");
    ASSERT_TRUE(eventually([&] { return got.load() == 1; }));
  }
  SUCCEED();
}

TEST(ServerLifecycle, DestructorAfterStopWithoutWait) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting(got)});
  server.start();
  server.stop();
}

TEST(ServerLifecycle, RestartAfterWaitConsumesAgain) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting(got)});
  Notifier notifier(transport, {});
  server.start();
  notifier.info("{}", "e", "{}");
  ASSERT_TRUE(eventually([&] { return got.load() == 1; }));
  server.stop();
  server.wait();
  notifier.info("{}", "e", "{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(got.load(), 1);
  server.start();
  EXPECT_TRUE(eventually([&] { return got.load() == 2; }));
}

TEST(ServerLifecycle, WaitReturnsOnlyAfterStopFromAnotherThread) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting(got)});
  server.start();
  std::atomic<bool> waited{false};
  std::thread waiter([&] {
    server.wait();
    waited = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(waited.load());
  server.stop();
  waiter.join();
  EXPECT_TRUE(waited.load());
}

TEST(ServerLifecycle, StopLetsRunningHandlersFinishAndReleasesTheRest) {
  auto transport = Transport::open("memory://");
  std::atomic<int> started{0}, finished{0};
  std::atomic<bool> release{false};
  Endpoint slow{"slow"};
  slow.on(Priority::info, [&](const Notification&) {
    started.fetch_add(1);
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    finished.fetch_add(1);
    return Result::handled;
  });
  Notifier notifier(transport, {});
  for (int i = 0; i < 50; ++i) notifier.info("{}", "e", "{}");
  NotificationServer server(transport, {Target{}}, {slow}, {.workers = 1});
  server.start();
  ASSERT_TRUE(eventually([&] { return started.load() == 1; }));
  server.stop();
  release = true;
  server.wait();
  EXPECT_EQ(finished.load(), 1);
  ServerStats stats = server.stats();
  EXPECT_EQ(stats.handled, 1u);
  EXPECT_EQ(stats.released + stats.handled, stats.received);
  // Everything not handled is still there for the next consumer.
  std::atomic<int> rest{0};
  NotificationServer next(transport, {Target{}}, {counting(rest)});
  next.start();
  EXPECT_TRUE(eventually([&] { return rest.load() == 49; }));
}

TEST(ServerLifecycle, StopFromAHandlerDoesNotDeadlock) {
  auto transport = Transport::open("memory://");
  NotificationServer* self = nullptr;
  std::atomic<int> got{0};
  Endpoint stopper{"stopper"};
  stopper.on(Priority::info, [&](const Notification&) {
    got.fetch_add(1);
    self->stop();
    return Result::handled;
  });
  NotificationServer server(transport, {Target{}}, {stopper});
  self = &server;
  server.start();
  Notifier(transport, {}).info("{}", "e", "{}");
  server.wait();
  EXPECT_EQ(got.load(), 1);
}

TEST(ServerLifecycle, BadOptionsFailFastNamingTheField) {
  auto transport = Transport::open("memory://");
  std::atomic<int> got{0};
  auto message_of = [&](std::vector<Target> targets, std::vector<Endpoint> endpoints, ServerOptions options) {
    try {
      NotificationServer s(transport, std::move(targets), std::move(endpoints), std::move(options));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of({Target{}}, {counting(got)}, {.workers = 0}).find("workers"), std::string::npos);
  EXPECT_NE(message_of({Target{}}, {counting(got)}, {.batch_size = 0}).find("batch_size"), std::string::npos);
  EXPECT_NE(message_of({Target{}}, {counting(got)}, {.credit_window = 0}).find("credit_window"), std::string::npos);
  EXPECT_NE(message_of({}, {counting(got)}, {}).find("targets"), std::string::npos);
  EXPECT_NE(message_of({Target{.topic = ""}}, {counting(got)}, {}).find("topic"), std::string::npos);
  EXPECT_NE(message_of({Target{}}, {Endpoint{"empty"}}, {}).find("endpoints"), std::string::npos);
}

}  // namespace
