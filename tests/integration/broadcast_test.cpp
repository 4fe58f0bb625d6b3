// Broadcast servers (ServerOptions::broadcast) through the real broker: each running instance
// gets every notification, pooled servers share them, and a stopped broadcast instance leaves
// no queue behind (exclusive + auto-delete on RabbitMQ 4, auto-delete + x-expires on 3.x).
#include "tests/integration/amqp_support.hpp"
#include "tests/integration/fault_broker.hpp"

#include <herald/endpoint.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/target.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

std::size_t broadcast_queues_of(const std::string& topic) {
  std::size_t n = 0;
  for (const auto& [name, counts] : list_queues())
    if (name.starts_with(topic + ".broadcast.")) ++n;
  return n;
}

TEST(AmqpBroadcast, EveryInstanceGetsEveryNotificationAndLeavesNothingBehind) {
  TransportOptions options;
  options.control_exchange = unique_name("exchange");
  const std::string topic = unique_name("events");
  constexpr int kCount = 200;

  // Two broadcast instances (own transports, as two processes would have) and two pooled ones.
  std::atomic<int> broadcast_a{0}, broadcast_b{0}, pooled{0};
  auto counter = [](std::atomic<int>& n) {
    Endpoint endpoint("count");
    endpoint.on(Priority::info, [&n](const Notification&) {
      ++n;
      return Result::handled;
    });
    return endpoint;
  };
  auto transport_a = Transport::open(broker_url(), options);
  auto transport_b = Transport::open(broker_url(), options);
  auto transport_p = Transport::open(broker_url(), options);
  NotificationServer a(transport_a, {Target{.topic = topic}}, {counter(broadcast_a)}, {.workers = 2, .broadcast = true});
  NotificationServer b(transport_b, {Target{.topic = topic}}, {counter(broadcast_b)}, {.workers = 2, .broadcast = true});
  NotificationServer p1(transport_p, {Target{.topic = topic}}, {counter(pooled)}, {.workers = 2, .pool = topic + "-pool"});
  NotificationServer p2(transport_p, {Target{.topic = topic}}, {counter(pooled)}, {.workers = 2, .pool = topic + "-pool"});
  for (NotificationServer* server : {&a, &b, &p1, &p2}) server->start();
  EXPECT_EQ(broadcast_queues_of(topic), 2u);

  Notifier notifier(Transport::open(broker_url(), options), {.publisher_id = "p", .topics = {topic}});
  for (int i = 0; i < kCount; ++i) notifier.info("{}", "e", R"({"i":1})");
  ASSERT_TRUE(notifier.flush(20s).ok());
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((broadcast_a < kCount || broadcast_b < kCount || pooled < kCount) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(200ms);  // anything extra would show now
  for (NotificationServer* server : {&a, &b, &p1, &p2}) {
    server->stop();
    server->wait();
  }
  std::printf("[broadcast] sent %d: instance a %d, instance b %d, pool (two servers) %d\n", kCount, broadcast_a.load(),
              broadcast_b.load(), pooled.load());
  EXPECT_EQ(broadcast_a, kCount);
  EXPECT_EQ(broadcast_b, kCount);
  EXPECT_EQ(pooled, kCount);
  // Stopped instances leave no queue behind (RabbitMQ deletes auto-delete queues asynchronously).
  deadline = std::chrono::steady_clock::now() + 10s;
  while (broadcast_queues_of(topic) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  EXPECT_EQ(broadcast_queues_of(topic), 0u);
  delete_queue(topic + "-pool");
  delete_queue(topic + ".info");
}

TEST(AmqpBroadcast, BroadcastAndPoolExcludeEachOther) {
  auto transport = Transport::open(broker_url());
  Endpoint endpoint("e");
  endpoint.on(Priority::info, [](const Notification&) { return Result::handled; });
  EXPECT_THROW(NotificationServer(transport, {Target{.topic = "t"}}, {endpoint}, {.pool = "p", .broadcast = true}),
               ConfigError);
}

}  // namespace
}  // namespace herald::test
