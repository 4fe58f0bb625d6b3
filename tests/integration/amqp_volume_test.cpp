// At-least-once under volume and across broker restarts: nothing may be lost; duplicates are
// allowed (and reported).
#include "tests/integration/amqp_support.hpp"

#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

struct StreamResult {
  std::size_t unique = 0;
  std::size_t duplicates = 0;
  std::size_t send_failures = 0;
  double seconds = 0;
};

// Sends `count` numbered messages from one thread while another consumes and acks them;
// `during` runs on the calling thread with a counter of received messages.
template <class During>
StreamResult run_stream(const std::string& url, std::size_t count, TransportOptions options, During during,
                        std::chrono::seconds deadline) {
  auto transport = Transport::open(url, options);
  auto& driver = transport->driver();
  const std::string exchange = unique_name("x");
  const std::string key = unique_name("t") + ".info";
  auto listener = driver.listen({{{key, exchange, key}}, 1000});

  std::vector<std::uint8_t> seen(count, 0);
  std::atomic<std::size_t> unique{0};
  std::atomic<std::size_t> duplicates{0};
  std::atomic<bool> done{false};
  auto started = std::chrono::steady_clock::now();
  std::thread consumer([&] {
    while (!done && unique < count) {
      for (auto& m : listener->poll(100ms, 256)) {
        std::size_t seq = std::stoul(m->body().substr(m->body().find(':') + 1));
        if (seq < count && seen[seq]++ == 0)
          ++unique;
        else
          ++duplicates;
        m->ack();
      }
    }
  });
  SendTracker sent;
  std::thread producer([&] {
    for (std::size_t i = 0; i < count; ++i)
      driver.send(message(exchange, key, "seq:" + std::to_string(i)), sent.callback());
  });
  during(unique);
  auto limit = started + deadline;
  while (unique < count && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(50ms);
  StreamResult result;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  done = true;
  producer.join();
  consumer.join();
  sent.wait(count, 30s);
  result.unique = unique;
  result.duplicates = duplicates;
  result.send_failures = sent.failed();
  listener->stop();
  return result;
}

TEST(AmqpVolume, HundredThousandAtLeastOnceNoneLost) {
  constexpr std::size_t kCount = 100'000;
  auto result = run_stream(
      broker_url(), kCount, {}, [](auto&) {}, 120s);
  std::cout << "[ amqp ] 100k: " << result.unique << " unique, " << result.duplicates << " duplicates, "
            << result.send_failures << " send failures, " << result.seconds << " s ("
            << static_cast<int>(kCount / result.seconds) << " msg/s end to end)\n";
  RecordProperty("duplicates", static_cast<int>(result.duplicates));
  EXPECT_EQ(result.unique, kCount);
  EXPECT_EQ(result.send_failures, 0u);
}

TEST(AmqpVolume, BrokerRestartedTwiceInA50kStreamLosesNothing) {
  constexpr std::size_t kCount = 50'000;
  TransportOptions options;
  options.send_timeout = 120s;  // a restart takes ~15 s; the notifier must wait, not fail
  CapturedLog log;
  options.logger = log.logger;
  // Durable exchange, queue and messages survive the restarts.
  auto restart_at = [&log](std::atomic<std::size_t>& received) {
    std::size_t restarts = 0;
    for (std::size_t threshold : {std::size_t{10'000}, std::size_t{30'000}}) {
      auto limit = std::chrono::steady_clock::now() + 60s;
      while (received < threshold && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(20ms);
      ASSERT_TRUE(broker_script("stop"));
      ASSERT_TRUE(broker_script("start"));
      ++restarts;
      // The stream keeps flowing while RabbitMQ shuts down, so the next threshold may already be
      // passed: restart again only once the client is back on this broker, or the second
      // restart could happen before the client noticed the first.
      limit = std::chrono::steady_clock::now() + 30s;
      while (log.count("(reconnected)") < restarts && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(20ms);
    }
  };
  auto result =
      run_stream(broker_url("?amqp_durable_queues=true&reconnect_max_delay=1"), kCount, options, restart_at, 180s);
  std::cout << "[ amqp ] 50k with 2 broker restarts: " << result.unique << " unique, " << result.duplicates
            << " duplicates, " << result.send_failures << " send failures, " << result.seconds << " s\n";
  RecordProperty("duplicates", static_cast<int>(result.duplicates));
  EXPECT_EQ(result.unique, kCount);
  EXPECT_EQ(result.send_failures, 0u);
  EXPECT_GE(log.count("(reconnected)"), 2u) << log.text().substr(0, 4000);
}

}  // namespace
}  // namespace herald::test
