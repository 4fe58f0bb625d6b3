// Sending and receiving through RabbitMQ: every priority, pools and competing consumers.
#include "tests/integration/amqp_support.hpp"

#include <herald/error.hpp>
#include <herald/notifier.hpp>
#include <herald/priority.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <set>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

TEST(AmqpRoundTrip, EachOfSevenRoutingKeysRoundTripsThroughNotifier) {
  TransportOptions options;
  options.control_exchange = unique_name("exchange");
  auto transport = Transport::open(broker_url(), options);
  const std::string topic = unique_name("notifications");
  const Priority priorities[] = {Priority::audit, Priority::debug,    Priority::info,  Priority::warn,
                                 Priority::error, Priority::critical, Priority::sample};
  {
    Notifier notifier(transport, {.publisher_id = "compute.host1", .topics = {topic}});
    for (Priority priority : priorities)
      notifier.notify(priority, R"({"user":"alice"})", "compute.instance." + std::string(to_string(priority)),
                      R"({"instance_id":"42"})");
    FlushResult flushed = notifier.flush(10s);
    ASSERT_TRUE(flushed.ok()) << flushed.last_error.message();
  }
  for (Priority priority : priorities) {
    std::string key = topic + "." + std::string(to_string(priority));
    auto listener = transport->driver().listen({{{key, options.control_exchange, key}}, 10});
    auto bodies = receive_and_ack(*listener, 1, 5s);
    ASSERT_EQ(bodies.size(), 1u) << key;
    EXPECT_NE(bodies[0].find("compute.instance." + std::string(to_string(priority))), std::string::npos) << bodies[0];
    EXPECT_NE(bodies[0].find("oslo.version"), std::string::npos);
    listener->stop();
    EXPECT_TRUE(listener->poll(10ms, 10).empty());
  }
}

TEST(AmqpRoundTrip, AtMostOnceDeliveryRoundTrips) {
  auto transport = Transport::open(broker_url("?delivery=at_most_once"));
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto listener = transport->driver().listen({{{key, exchange, key}}, 100});
  SendTracker sent;
  for (int i = 0; i < 50; ++i)
    transport->driver().send(message(exchange, key, "body-" + std::to_string(i)), sent.callback());
  ASSERT_TRUE(sent.wait(50, 10s));
  EXPECT_EQ(sent.ok(), 50u);
  EXPECT_EQ(receive_and_ack(*listener, 50, 10s).size(), 50u);
}

TEST(AmqpRoundTrip, TwoPoolsEachGetEveryMessageWhileOnePoolSplitsThem) {
  auto transport = Transport::open(broker_url());
  auto& driver = transport->driver();
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  const std::string pool_a = unique_name("pool-a");
  const std::string pool_b = unique_name("pool-b");
  auto a1 = driver.listen({{{pool_a, exchange, key}}, 10});
  auto a2 = driver.listen({{{pool_a, exchange, key}}, 10});
  auto b = driver.listen({{{pool_b, exchange, key}}, 10});

  constexpr std::size_t kCount = 200;
  SendTracker sent;
  for (std::size_t i = 0; i < kCount; ++i)
    driver.send(message(exchange, key, "m" + std::to_string(i)), sent.callback());
  ASSERT_TRUE(sent.wait(kCount, 10s));
  ASSERT_EQ(sent.ok(), kCount);

  std::set<std::string> got_b;
  for (auto& body : receive_and_ack(*b, kCount, 15s)) got_b.insert(body);
  EXPECT_EQ(got_b.size(), kCount);

  // Competing consumers with small credit: both must get a share, together everything.
  std::set<std::string> got_a;
  std::size_t from_a1 = 0, from_a2 = 0;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (got_a.size() < kCount && std::chrono::steady_clock::now() < deadline) {
    for (auto& m : a1->poll(20ms, 5)) {
      got_a.insert(m->body());
      m->ack();
      ++from_a1;
    }
    for (auto& m : a2->poll(20ms, 5)) {
      got_a.insert(m->body());
      m->ack();
      ++from_a2;
    }
  }
  EXPECT_EQ(got_a.size(), kCount);
  EXPECT_EQ(from_a1 + from_a2, kCount);
  EXPECT_GT(from_a1, 0u);
  EXPECT_GT(from_a2, 0u);
}

TEST(AmqpRoundTrip, SecondHostTakesOverWhenTheFirstIsDown) {
  CapturedLog log;
  TransportOptions options;
  options.logger = log.logger;
  // Port 1 on loopback: connection refused.
  std::string url =
      with_test_options("amqp://guest:guest@127.0.0.1:1,guest:guest@127.0.0.1:" + std::to_string(broker_port()) + "/");
  auto transport = Transport::open(url, options);
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto listener = transport->driver().listen({{{key, exchange, key}}, 10});
  SendTracker sent;
  transport->driver().send(message(exchange, key, "failover"), sent.callback());
  ASSERT_TRUE(sent.wait(1, 10s));
  EXPECT_EQ(sent.ok(), 1u) << sent.last_error().message();
  auto bodies = receive_and_ack(*listener, 1, 5s);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0], "failover");
  EXPECT_NE(log.text().find("connected to 127.0.0.1:" + std::to_string(broker_port())), std::string::npos)
      << log.text();
}

}  // namespace
}  // namespace herald::test

namespace herald::test {
namespace {

TEST(AmqpRoundTrip, VirtualHostFromTheUrlPathIsUsed) {
  const std::string vhost = "herald-it-vhost";
  ASSERT_TRUE(broker_script("ctl -q add_vhost " + vhost + " 2>/dev/null || true"));
  ASSERT_TRUE(broker_script("ctl -q set_permissions -p " + vhost + " guest '.*' '.*' '.*'"));
  auto transport =
      Transport::open(with_test_options("amqp://guest:guest@127.0.0.1:" + std::to_string(broker_port()) + "/" + vhost));
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto listener = transport->driver().listen({{{key, exchange, key}}, 10});
  SendTracker sent;
  transport->driver().send(message(exchange, key, "in-vhost"), sent.callback());
  ASSERT_TRUE(sent.wait(1, 10s));
  ASSERT_EQ(sent.ok(), 1u) << sent.last_error().message();
  auto bodies = receive_and_ack(*listener, 1, 5s);
  ASSERT_EQ(bodies.size(), 1u);
  // The queue exists in the vhost, not in "/": consuming it from "/" must fail.
  auto root = Transport::open(broker_url("?topology=none&connect_timeout=3"));
  EXPECT_THROW(root->driver().listen({{{key, exchange, key}}, 10}), TransportError);
}

}  // namespace
}  // namespace herald::test
