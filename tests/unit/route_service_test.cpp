// herald route's actions and service on memory://: each endpoint gets exactly what its filter
// and priorities match; a failing webhook requeues and then succeeds, an always-failing one
// dead-letters at the redelivery limit; republish is confirmed before the ack; a reload under
// traffic loses nothing and a bad reload keeps the old routes.
#include "http_receiver.hpp"
#include "test_support.hpp"

#include "tools/route/route_service.hpp"

#include <herald/herald.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace herald;
using namespace herald::route;
using herald::test::CapturedLog;
using herald::test::eventually;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string field(const std::string& json_line, const char* name) {
  rapidjson::Document doc;
  doc.Parse(json_line.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString()) return {};
  return doc[name].GetString();
}

class RouteService_ : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("herald-route-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    transport_ = Transport::open("memory://");
    resources_ = std::make_shared<ActionResources>(transport_, "memory://", log_.logger, log_.logger);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  ServerOptions base() const { return {.logger = log_.logger}; }

  fs::path dir_;
  CapturedLog log_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<ActionResources> resources_;
};

TEST_F(RouteService_, EachEndpointGetsExactlyWhatItsRulesMatch) {
  const std::string yaml =
      "workers: 2\nendpoints:\n"
      "  - name: compute\n    filter: {publisher_id: '^compute\\.'}\n"
      "    file: {path: " +
      path("compute.jsonl") +
      "}\n"
      "  - name: errors\n    priorities: [error, critical]\n"
      "    file: {path: " +
      path("errors.jsonl") +
      "}\n"
      "  - name: admin-deletes\n    filter: {event_type: 'volume\\.delete', context: {user: '^admin$'}, payload: "
      "{size: '^1'}}\n"
      "    file: {path: " +
      path("admin.jsonl") +
      "}\n"
      "  - name: trace\n    priorities: [warn]\n    log: {level: info}\n";
  RouteService service(resources_, parse_route_config(yaml, "routes.yaml"), base());
  service.start();
  Notifier compute(transport_, {.publisher_id = "compute.host1", .sanitize_context = false});
  Notifier volume(transport_, {.publisher_id = "volume.host2", .sanitize_context = false});
  compute.info("{}", "compute.instance.create.end", R"({"n": 1})");                        // compute
  compute.error("{}", "compute.instance.create.error", R"({"n": 2})");                     // compute, errors
  volume.critical("{}", "volume.attach", R"({"n": 3})");                                   // errors
  volume.info(R"({"user": "admin"})", "volume.delete.end", R"({"n": 4, "size": "10"})");   // admin
  volume.info(R"({"user": "admin2"})", "volume.delete.end", R"({"n": 5, "size": "10"})");  // nobody
  volume.info(R"({"user": "admin"})", "volume.delete.end", R"({"n": 6, "size": 10})");     // nobody: not a string
  volume.warn("{}", "volume.slow", R"({"n": 7})");                                         // trace
  ASSERT_TRUE(compute.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(volume.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return service.stats().in_progress == 0 && service.stats().received == 7; }));
  service.stop(std::chrono::seconds(1));
  ASSERT_TRUE(service.wait_for(std::chrono::seconds(5)));

  auto payload_ns = [&](const std::string& file) {
    std::vector<std::string> ns;
    for (const std::string& line : lines_of(path(file))) {
      rapidjson::Document doc;
      doc.Parse(line.c_str());
      ns.push_back(std::to_string(doc["payload"]["n"].GetInt()));
    }
    std::sort(ns.begin(), ns.end());  // two workers, two queues: no order between them
    return ns;
  };
  EXPECT_EQ(payload_ns("compute.jsonl"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(payload_ns("errors.jsonl").size(), 2u);
  EXPECT_EQ(payload_ns("admin.jsonl"), std::vector<std::string>{"4"});
  const std::string log = log_.text();
  EXPECT_NE(log.find("route trace: warn volume.slow publisher_id=volume.host2"), std::string::npos) << log;
  EXPECT_EQ(log.find("\"n\""), std::string::npos) << "payloads never go into logs";
  const ServerStats stats = service.stats();
  EXPECT_EQ(stats.handled, 5u);
  EXPECT_EQ(stats.filtered, 2u) << "n=5 and n=6 match no endpoint";
  auto summaries = service.endpoint_summaries();
  ASSERT_EQ(summaries.size(), 4u);
  EXPECT_EQ(summaries[3].kind, "log");
  EXPECT_EQ(summaries[3].stats.delivered, 1u);
}

TEST_F(RouteService_, WebhookFailuresRequeueThenSucceedAndAlwaysFailingDeadLetters) {
  // /flaky: the first two requests get 503, then 200. /down: always 500 or no answer.
  test::HttpReceiver flaky([](std::size_t n, const std::string&) { return n < 2 ? 503 : 200; });
  test::HttpReceiver down([](std::size_t n, const std::string&) { return n % 2 == 0 ? 500 : 0; },
                          std::chrono::milliseconds(400));
  const std::string yaml =
      "workers: 2\nmax_redeliveries: 2\nendpoints:\n"
      "  - name: flaky\n    filter: {event_type: '^flaky'}\n    webhook: {url: '" +
      flaky.url() +
      "', timeout: 1}\n"
      "  - name: down\n    filter: {event_type: '^down'}\n    webhook: {url: '" +
      down.url() + "', timeout: 0.2}\n";
  RouteService service(resources_, parse_route_config(yaml, "routes.yaml"), base());
  service.start();
  Notifier notifier(transport_, {.publisher_id = "p"});
  notifier.info("{}", "flaky.one", R"({"k": "v"})");
  notifier.info("{}", "down.one", R"({"k": "v"})");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return service.stats().handled == 1 && service.stats().dead_lettered == 1; },
                         std::chrono::seconds(20)))
      << "handled " << service.stats().handled << ", dead-lettered " << service.stats().dead_lettered;
  ASSERT_EQ(flaky.accepted().size(), 1u);
  EXPECT_EQ(field(flaky.accepted()[0], "event_type"), "flaky.one") << "the body is the JSON line";
  EXPECT_EQ(flaky.requests(), 3u);
  // The receiver reads a request only after it stopped holding the previous one (one thread).
  EXPECT_TRUE(eventually([&] { return down.requests() == 3; }))
      << down.requests() << ": first delivery + max_redeliveries (2) requeues, then dead letter";
  const ServerStats stats = service.stats();
  EXPECT_EQ(stats.requeued, 2u + 2u);
  auto summaries = service.endpoint_summaries();
  EXPECT_EQ(summaries[0].stats.delivered, 1u);
  EXPECT_EQ(summaries[0].stats.failed, 2u);
  EXPECT_EQ(summaries[1].stats.failed, 3u);
  EXPECT_NE(log_.text().find("HTTP 503"), std::string::npos);
  EXPECT_NE(log_.text().find("timed out"), std::string::npos) << log_.text();
  service.stop(std::chrono::seconds(1));
  EXPECT_TRUE(service.wait_for(std::chrono::seconds(5)));
}

TEST_F(RouteService_, RepublishKeepsTheOriginalFieldsAndIsConfirmedBeforeTheAck) {
  std::mutex mutex;
  std::vector<Notification> forwarded;
  Endpoint collector{"collector"};
  collector.on(Priority::critical, [&](const Notification& n) {
    std::lock_guard lock(mutex);
    forwarded.push_back(n);
    return Result::handled;
  });
  NotificationServer downstream(transport_, {Target{"forwarded", ""}}, {collector}, {.workers = 1});
  downstream.start();  // declares forwarded.critical
  const std::string yaml =
      "endpoints:\n"
      "  - name: forward\n    filter: {event_type: '^fwd'}\n"
      "    republish: {topic: forwarded, priority: critical, timeout: 2}\n";
  RouteService service(resources_, parse_route_config(yaml, "routes.yaml"), base());
  service.start();
  Notifier notifier(transport_, {.publisher_id = "origin.host", .sanitize_context = false});
  notifier.info(R"({"request_id": "req-1"})", "fwd.event", R"({"k": 7})");
  notifier.info("{}", "other.event", R"({"k": 8})");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return service.stats().handled == 1 && service.stats().filtered == 1; }));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return forwarded.size() == 1;
  }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(forwarded[0].publisher_id, "origin.host");
  EXPECT_EQ(forwarded[0].event_type, "fwd.event");
  EXPECT_EQ(forwarded[0].priority, Priority::critical);
  EXPECT_EQ(forwarded[0].payload_json(), R"({"k":7})");
  EXPECT_EQ(forwarded[0].context_json(), R"({"request_id":"req-1"})");
  EXPECT_EQ(service.endpoint_summaries()[0].stats.delivered, 1u);
}

TEST_F(RouteService_, ARefusedRepublishRequeuesThenDeadLetters) {
  // memory:// with queues of depth 1 that refuse more: the first copy fills full.info (nobody
  // consumes it), every later copy is refused.
  transport_ = Transport::open("memory://?max_depth=1&overflow=reject");
  resources_ = std::make_shared<ActionResources>(transport_, "memory://", log_.logger, log_.logger);
  const std::string yaml =
      "max_redeliveries: 2\nendpoints:\n"
      "  - name: forward\n    republish: {topic: full, timeout: 2}\n";
  RouteService service(resources_, parse_route_config(yaml, "routes.yaml"), base());
  service.start();
  Notifier notifier(transport_, {.publisher_id = "p"});
  notifier.info("{}", "first", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return service.stats().handled == 1; }));
  notifier.info("{}", "second", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return service.stats().dead_lettered == 1; })) << log_.text();
  EXPECT_EQ(service.stats().requeued, 2u);
  const ActionStats stats = service.endpoint_summaries()[0].stats;
  EXPECT_EQ(stats.delivered, 1u);
  EXPECT_EQ(stats.failed, 3u) << "first delivery + 2 redeliveries, then the dead-letter queue";
  EXPECT_NE(log_.text().find("republish to full.info: "), std::string::npos) << log_.text();
  service.stop(std::chrono::seconds(1));
  EXPECT_TRUE(service.wait_for(std::chrono::seconds(5)));
}

TEST_F(RouteService_, AReloadWithAShortDrainReleasesWhatTheOldRoutesHeldToTheNewOnes) {
  // Slow endpoints (5 ms per POST) holding a backlog; the reload gives the old server 20 ms:
  // what it took and did not start goes back to the queue and the new endpoints handle it. The
  // new routes also subscribe to a priority the old ones did not.
  auto slow = [](std::size_t, const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return 200;
  };
  test::HttpReceiver old_hook(slow), new_hook(slow);
  auto routes = [](const test::HttpReceiver& hook, const char* priorities) {
    return std::string("workers: 2\ncredit_window: 100\nendpoints:\n  - name: hook\n    priorities: ") + priorities +
           "\n    webhook: {url: '" + hook.url() + "'}\n";
  };
  RouteService service(resources_, parse_route_config(routes(old_hook, "[info]"), "routes.yaml"), base());
  service.start();
  Notifier notifier(transport_, {.publisher_id = "p"});
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) notifier.info("{}", "e", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return old_hook.accepted().size() >= 20; }));
  ASSERT_TRUE(service.reload(parse_route_config(routes(new_hook, "[info, error]"), "routes.yaml"),
                             std::chrono::milliseconds(20)));
  notifier.error("{}", "after.reload", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(eventually([&] { return service.stats().handled == kCount + 1; }, std::chrono::seconds(30)))
      << service.stats().handled;
  std::set<std::string> ids;
  for (const auto* hook : {&old_hook, &new_hook})
    for (const std::string& body : hook->accepted()) ids.insert(field(body, "message_id"));
  const ServerStats stats = service.stats();
  std::printf("short-drain reload: old routes %zu, new routes %zu, released %llu, unique %zu\n",
              old_hook.accepted().size(), new_hook.accepted().size(), static_cast<unsigned long long>(stats.released),
              ids.size());
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kCount + 1)) << "nothing lost";
  EXPECT_GT(new_hook.accepted().size(), 1u) << "the new routes took over the backlog";
  const auto posted = new_hook.accepted();
  EXPECT_EQ(std::count_if(posted.begin(), posted.end(),
                          [](const std::string& body) { return field(body, "event_type") == "after.reload"; }),
            1)
      << "the error queue the new routes subscribe to";
  service.collect();
  service.stop(std::chrono::seconds(1));
  EXPECT_TRUE(service.wait_for(std::chrono::seconds(5)));
}

TEST_F(RouteService_, ReloadUnderTrafficLosesNothingAndABadReloadKeepsTheOldRoutes) {
  auto routes = [&](const std::string& file, const std::string& extra = "") {
    return "workers: 2\nendpoints:\n  - name: all\n    file: {path: " + path(file) + "}\n" + extra;
  };
  RouteService service(resources_, parse_route_config(routes("before.jsonl"), "routes.yaml"), base());
  service.start();
  constexpr int kCount = 3000;
  std::atomic<int> sent{0};
  std::thread producer([&] {
    Notifier notifier(transport_, {.publisher_id = "p"});
    for (int i = 0; i < kCount; ++i) {
      notifier.info("{}", "e", "{\"i\": " + std::to_string(i) + "}");
      sent.store(i + 1);
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    notifier.flush(std::chrono::seconds(10));
  });
  ASSERT_TRUE(eventually([&] { return sent.load() > kCount / 4; }));
  // A bad file: the old routes keep running.
  const std::string bad = "endpoints:\n  - name: bad\n    webhook: {url: 'http://h:99999/'}\n";
  EXPECT_FALSE(service.reload(parse_route_config(bad, "bad.yaml"), std::chrono::seconds(2)));
  EXPECT_NE(log_.text().find("reload of bad.yaml failed"), std::string::npos) << log_.text();
  ASSERT_TRUE(eventually([&] { return sent.load() > kCount / 2; }));
  ASSERT_TRUE(service.reload(parse_route_config(routes("after.jsonl"), "routes.yaml"), std::chrono::seconds(2)));
  producer.join();
  ASSERT_TRUE(eventually([&] { return service.stats().handled >= kCount && service.stats().in_progress == 0; }))
      << service.stats().handled;
  service.collect();
  service.stop(std::chrono::seconds(1));
  ASSERT_TRUE(service.wait_for(std::chrono::seconds(5)));

  std::multiset<std::string> ids;
  const auto before = lines_of(path("before.jsonl"));
  const auto after = lines_of(path("after.jsonl"));
  for (const auto* lines : {&before, &after})
    for (const std::string& line : *lines) ids.insert(field(line, "message_id"));
  const std::set<std::string> unique(ids.begin(), ids.end());
  std::printf("reload under traffic: %zu before, %zu after, %zu unique, %zu duplicates\n", before.size(), after.size(),
              unique.size(), ids.size() - unique.size());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kCount)) << "nothing lost";
  EXPECT_GT(before.size(), 0u);
  EXPECT_GT(after.size(), 0u);
  EXPECT_EQ(service.reloads(), 1u);
  EXPECT_EQ(service.stats().released, 0u) << "the old server finished what it held within the drain";
}

}  // namespace
