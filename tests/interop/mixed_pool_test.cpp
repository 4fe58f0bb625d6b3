// One pool, two implementations: an oslo listener and a Herald NotificationServer consume one
// stream from the same pool queue; every notification must be handled exactly once overall.
#include "tests/interop/oslo_support.hpp"

#include <herald/endpoint.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/target.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <thread>

namespace herald::interop {
namespace {

using namespace std::chrono_literals;

TEST(MixedPool, OsloListenerAndHeraldServerShareOnePool) {
  constexpr int kTotal = 2000;
  const std::string exchange = unique_name("x");
  const std::string topic = unique_name("t");
  const std::string pool = unique_name("pool");

  // A prefetch on both sides makes RabbitMQ spread the stream over both consumers.
  auto args = peer_args("listen", exchange, topic, "?rabbit_qos_prefetch_count=20");
  args.insert(args.end(), {"--pool", pool, "--timeout", "150"});
  PythonPeer oslo(args);
  ASSERT_TRUE(oslo.wait_for("ready", 1, 60s)) << "oslo listener did not start";

  auto transport = open_transport(exchange);
  std::mutex mutex;
  std::map<std::string, int> herald_seen;
  Endpoint endpoint("mixed");
  endpoint.on(std::span<const Priority>(kAllPriorities), [&](const Notification& n) {
    std::lock_guard lock(mutex);
    ++herald_seen[n.message_id];
    return Result::handled;
  });
  NotificationServer server(transport, {Target{.topic = topic}}, {endpoint},
                            {.workers = 2, .pool = pool, .credit_window = 20});
  server.start();

  Notifier notifier(transport,
                    {.publisher_id = "compute.mixed", .topics = {topic}, .drivers = {"messagingv2", "test"}});
  for (int seq = 0; seq < kTotal; ++seq)
    notifier.notify(kAllPriorities[seq % kPriorityCount], "{}", "compute.instance.update",
                    R"({"seq": )" + std::to_string(seq) + "}");
  ASSERT_TRUE(notifier.flush(60s).ok());

  auto herald_count = [&] {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& [id, count] : herald_seen) n += count;
    return n;
  };
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (herald_count() + oslo.count("msg") < kTotal && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(1s);  // let duplicates, if any, arrive
  server.stop();
  server.wait();
  oslo.close_stdin();
  EXPECT_EQ(oslo.wait_exit(60s), 0);

  std::set<std::string> all;
  for (const auto& n : notifier.capture()->notifications()) all.insert(n.message_id);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kTotal));
  std::map<std::string, int> oslo_seen;
  for (const auto* line : oslo.events("msg")) ++oslo_seen[(*line)["metadata"]["message_id"].GetString()];

  std::size_t in_both = 0, twice = 0, lost = 0, foreign = 0;
  for (const auto& [id, count] : oslo_seen) {
    twice += count > 1;
    in_both += herald_seen.contains(id);
    foreign += !all.contains(id);
  }
  for (const auto& [id, count] : herald_seen) {
    twice += count > 1;
    foreign += !all.contains(id);
  }
  for (const auto& id : all) lost += !oslo_seen.contains(id) && !herald_seen.contains(id);
  std::printf("mixed pool: %d sent, oslo handled %zu, Herald handled %zu\n", kTotal, oslo_seen.size(),
              herald_seen.size());
  EXPECT_EQ(lost, 0u) << "union != all";
  EXPECT_EQ(in_both, 0u) << "intersection not empty";
  EXPECT_EQ(twice, 0u) << "handled twice by one side";
  EXPECT_EQ(foreign, 0u);
  EXPECT_EQ(oslo_seen.size() + herald_seen.size(), static_cast<std::size_t>(kTotal));
  EXPECT_GT(oslo_seen.size(), 0u) << "oslo got nothing: the pool was not shared";
  EXPECT_GT(herald_seen.size(), 0u) << "Herald got nothing: the pool was not shared";
}

}  // namespace
}  // namespace herald::interop
