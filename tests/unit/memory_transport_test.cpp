// memory:// through the public API: topology (shared queues, pools), overflow policy, config.
#include "test_support.hpp"
#include "transports/transport_driver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

using namespace herald;
using herald::test::eventually;

namespace {

Endpoint counting_endpoint(std::atomic<int>& counter, std::initializer_list<Priority> priorities) {
  Endpoint e{"counter"};
  e.on(priorities, [&counter](const Notification&) {
    counter.fetch_add(1);
    return Result::handled;
  });
  return e;
}

TEST(MemoryTransport, StoresUntilAServerListensLikeOslosPublisherQueues) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, {.publisher_id = "p"});
  for (int i = 0; i < 5; ++i) notifier.info("{}", "e", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(1)).ok());
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting_endpoint(got, {Priority::info})});
  server.start();
  EXPECT_TRUE(eventually([&] { return got.load() == 5; }));
}

// Members of a pool compete for its queue, as RabbitMQ consumers do: nothing promises an even
// split, so each member's handler takes a little time and its credit window is small (a member
// with instant handlers and room for everything could take all 2,000 before the other's
// threads were scheduled: seen 1 in 60 runs on a loaded machine).
TEST(MemoryTransport, TwoPoolsEachGetEverythingMembersOfOnePoolSplit) {
  auto transport = Transport::open("memory://?declare_on_send=false");
  std::atomic<int> a1{0}, a2{0}, b{0};
  auto slow_counter = [](std::atomic<int>& counter) {
    Endpoint e{"slow-counter"};
    e.on(Priority::info, [&counter](const Notification&) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      counter.fetch_add(1);
      return Result::handled;
    });
    return e;
  };
  const ServerOptions member{.workers = 2, .pool = "a", .credit_window = 20};
  NotificationServer pool_a1(transport, {Target{}}, {slow_counter(a1)}, member);
  NotificationServer pool_a2(transport, {Target{}}, {slow_counter(a2)}, member);
  NotificationServer pool_b(transport, {Target{}}, {counting_endpoint(b, {Priority::info})}, {.pool = "b"});
  pool_a1.start();
  pool_a2.start();
  pool_b.start();
  Notifier notifier(transport, {.publisher_id = "p"});
  for (int i = 0; i < 2000; ++i) notifier.info("{}", "e", "{}");
  ASSERT_TRUE(eventually([&] { return b.load() == 2000 && a1.load() + a2.load() == 2000; }));
  EXPECT_GT(a1.load(), 0);
  EXPECT_GT(a2.load(), 0);
}

// An arrival wakes the longest-waiting poll of its queue, and only as many polls as the ready
// messages need: a poll that may take one message must not keep a second arrival from waking
// the next poll, which would then wait out its whole timeout.
TEST(MemoryTransport, EachWaitingPollOfAQueueIsWokenForAnArrivalItCanTake) {
  auto transport = Transport::open("memory://?declare_on_send=false");
  detail::ListenSpec spec;
  spec.bindings.push_back({"shared", "openstack", "shared.info"});
  spec.credit_window = 1;
  auto first = transport->driver().listen(spec);
  auto second = transport->driver().listen(spec);
  constexpr auto kLongTimeout = std::chrono::seconds(20);
  struct Outcome {
    std::size_t taken = 0;
    std::chrono::steady_clock::duration waited{};
  };
  Outcome outcomes[2];
  auto poll_once = [&](detail::Listener& listener, Outcome& outcome) {
    const auto start = std::chrono::steady_clock::now();
    detail::IncomingBatch batch = listener.poll(std::chrono::duration_cast<std::chrono::milliseconds>(kLongTimeout), 8);
    outcome.waited = std::chrono::steady_clock::now() - start;
    outcome.taken = batch.size();
    for (auto& message : batch) message->ack();
  };
  std::thread one([&] { poll_once(*first, outcomes[0]); });
  std::thread two([&] { poll_once(*second, outcomes[1]); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both waiting (else they take at once)
  for (int i = 0; i < 2; ++i) {
    detail::OutgoingMessage message;
    message.exchange = "openstack";
    message.routing_key = "shared.info";
    message.body = "{}";
    transport->driver().send(std::move(message), [](std::error_code ec, std::string_view) { ASSERT_FALSE(ec); });
  }
  one.join();
  two.join();
  for (const Outcome& outcome : outcomes) {
    EXPECT_EQ(outcome.taken, 1u);
    EXPECT_LT(outcome.waited, kLongTimeout / 2);
  }
}

TEST(MemoryTransport, RoutingKeyIsTopicDotLowerCasePriority) {
  auto transport = Transport::open("memory://");
  std::atomic<int> warn{0}, info{0};
  NotificationServer server(transport, {Target{.topic = "t"}},
                            {counting_endpoint(warn, {Priority::warn}), counting_endpoint(info, {Priority::info})});
  server.start();
  Notifier notifier(transport, {.topics = {"t", "other"}});
  notifier.warning("{}", "e", "{}");
  notifier.info("{}", "e", "{}");
  ASSERT_TRUE(eventually([&] { return warn.load() == 1 && info.load() == 1; }));
  EXPECT_EQ(notifier.stats().sent, 4u);  // two topics each
}

TEST(MemoryTransport, RejectOverflowFailsTheSendAndReportsIt) {
  auto transport = Transport::open("memory://?max_depth=3&overflow=reject");
  std::vector<SendFailure> failures;
  std::mutex mutex;
  Notifier notifier(transport, {.on_error = [&](const SendFailure& f) {
                      std::lock_guard lock(mutex);
                      failures.push_back(f);
                    }});
  for (int i = 0; i < 5; ++i) notifier.info("{}", "e", "{}");
  FlushResult result = notifier.flush(std::chrono::seconds(1));
  EXPECT_EQ(result.failed, 2u);
  EXPECT_EQ(result.last_error, make_error_code(Errc::overflow));
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0].routing_key, "notifications.info");
  EXPECT_EQ(notifier.stats().confirmed, 3u);
}

TEST(MemoryTransport, BlockOverflowWaitsForRoomThenFailsAfterSendTimeout) {
  auto transport =
      Transport::open("memory://?max_depth=1&overflow=block", {.send_timeout = std::chrono::milliseconds(50)});
  Notifier notifier(transport, {});
  auto start = std::chrono::steady_clock::now();
  notifier.info("{}", "e", "{}");
  notifier.info("{}", "e", "{}");  // blocks ~50 ms, then fails
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(45));
  EXPECT_EQ(notifier.flush(std::chrono::seconds(1)).failed, 1u);
}

TEST(MemoryTransport, BlockOverflowResumesWhenAConsumerMakesRoom) {
  auto transport = Transport::open("memory://?max_depth=10&overflow=block");
  std::atomic<int> got{0};
  NotificationServer server(transport, {Target{}}, {counting_endpoint(got, {Priority::info})},
                            {.workers = 1, .credit_window = 4});
  server.start();
  Notifier notifier(transport, {});
  for (int i = 0; i < 1000; ++i) notifier.info("{}", "e", "{}");
  EXPECT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  EXPECT_TRUE(eventually([&] { return got.load() == 1000; }));
}

TEST(MemoryTransport, DropHeadDeadLettersTheOldest) {
  auto transport = Transport::open("memory://?max_depth=2&overflow=drop_head&dead_letter_queue=dlq");
  Notifier notifier(transport, {});
  for (int i = 0; i < 3; ++i) {
    rapidjson::Document payload(rapidjson::kObjectType);
    payload.AddMember("seq", i, payload.GetAllocator());
    notifier.info(rapidjson::Value(rapidjson::kObjectType), "e", payload);
  }
  EXPECT_TRUE(notifier.flush(std::chrono::seconds(1)).ok());
  // The dead-letter queue is an ordinary queue: listen to it with a pool named after it.
  std::mutex mutex;
  std::vector<int> dead;
  Endpoint dlq{"dlq"};
  dlq.on(Priority::info, [&](const Notification& n) {
    std::lock_guard lock(mutex);
    dead.push_back(n.payload()["seq"].GetInt());
    return Result::handled;
  });
  NotificationServer server(transport, {Target{.topic = "unused"}}, {dlq}, {.pool = "dlq"});
  server.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return dead.size() == 1;
  }));
  EXPECT_EQ(dead[0], 0);
}

TEST(MemoryTransport, BadOptionsFailFastNamingTheField) {
  auto message_of = [](const char* url) {
    try {
      Transport::open(url);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of("memory://?max_depth=lots").find("max_depth"), std::string::npos);
  EXPECT_NE(message_of("memory://?overflow=explode").find("overflow"), std::string::npos);
  EXPECT_NE(message_of("memory://?colour=blue").find("colour"), std::string::npos);
  EXPECT_NE(message_of("memory://host:1/").find("host"), std::string::npos);
  EXPECT_NE(message_of("kafka://x").find("scheme"), std::string::npos);
}

TEST(MemoryTransport, TwoOpensAreTwoBrokers) {
  auto first = Transport::open("memory://");
  auto second = Transport::open("memory://");
  std::atomic<int> got{0};
  NotificationServer server(second, {Target{}}, {counting_endpoint(got, {Priority::info})});
  server.start();
  Notifier(first, {}).info("{}", "e", "{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(got.load(), 0);
}

}  // namespace
