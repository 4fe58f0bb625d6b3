// N producers x M workers on memory://: exact counts, no loss, no double handling, bounded
// queues under back-pressure.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

using namespace herald;
using herald::test::eventually;

namespace {

struct Case {
  int producers;
  std::size_t workers;
  const char* url;
};

class ServerLoad : public ::testing::TestWithParam<Case> {};

TEST_P(ServerLoad, EveryNotificationHandledExactlyOnce) {
  const Case c = GetParam();
  constexpr int kPerProducer = 5000;
  const int total = c.producers * kPerProducer;
  auto transport = Transport::open(c.url);
  auto seen = std::make_unique<std::atomic<int>[]>(total);
  Endpoint e{"e"};
  e.on({Priority::info, Priority::error}, [&](const Notification& n) {
    seen[n.payload()["seq"].GetInt()].fetch_add(1);
    return Result::handled;
  });
  NotificationServer server(transport, {Target{}}, {e}, {.workers = c.workers, .credit_window = 64});
  server.start();
  std::vector<std::thread> producers;
  for (int p = 0; p < c.producers; ++p)
    producers.emplace_back([&, p] {
      Notifier notifier(transport, {.publisher_id = "p" + std::to_string(p)});
      for (int i = 0; i < kPerProducer; ++i) {
        rapidjson::Document payload(rapidjson::kObjectType);
        payload.AddMember("seq", p * kPerProducer + i, payload.GetAllocator());
        notifier.notify(i % 2 ? Priority::info : Priority::error, rapidjson::Value(rapidjson::kObjectType), "load",
                        payload);
      }
      EXPECT_TRUE(notifier.flush(std::chrono::seconds(30)).ok());
    });
  for (auto& t : producers) t.join();
  ASSERT_TRUE(eventually([&] { return server.stats().handled == static_cast<std::uint64_t>(total); },
                         std::chrono::seconds(60)));
  server.stop();
  server.wait();
  int missing = 0, doubled = 0;
  for (int i = 0; i < total; ++i) {
    missing += seen[i].load() == 0;
    doubled += seen[i].load() > 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(doubled, 0);
  EXPECT_EQ(server.stats().received, static_cast<std::uint64_t>(total));
}

INSTANTIATE_TEST_SUITE_P(ProducersByWorkers, ServerLoad,
                         ::testing::Values(Case{1, 1, "memory://"}, Case{4, 2, "memory://"},
                                           Case{4, 8, "memory://?max_depth=100&overflow=block"},
                                           Case{2, 3, "memory://?max_depth=10"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::to_string(info.param.producers) + "producers_" +
                                  std::to_string(info.param.workers) + "workers_" + std::to_string(info.index);
                         });

}  // namespace
