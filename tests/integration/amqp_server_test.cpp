// Notifier -> RabbitMQ -> NotificationServer, end to end through the public API.
#include "tests/integration/amqp_support.hpp"

#include <herald/endpoint.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/target.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <array>
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

}  // namespace
}  // namespace herald::test
