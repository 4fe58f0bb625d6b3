// `herald route` end to end through RabbitMQ: a routes file with all four actions (a file with
// rotation, a webhook to a local HTTP receiver that fails its first requests, a webhook that
// always fails, a republish, a log); each action gets exactly what its filters match and
// nothing is lost; a SIGHUP reload under traffic loses nothing; SIGTERM drains and exits 0 with
// the summary.
#include "tests/integration/amqp_support.hpp"
#include "tests/integration/cli_process.hpp"
#include "tests/unit/http_receiver.hpp"
#include "tests/unit/metrics_support.hpp"

#include <herald/herald.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr unsigned short kMetricsPort = 18047;

std::string message_id_of(const std::string& json_line) {
  rapidjson::Document doc;
  doc.Parse(json_line.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("message_id")) return {};
  return doc["message_id"].GetString();
}

// message_id of every line in `base` and its rotated files base.1, base.2, ...
std::multiset<std::string> ids_in_files(const std::string& base) {
  std::multiset<std::string> ids;
  for (int n = 0; n < 100; ++n) {
    const std::string path = n == 0 ? base : base + "." + std::to_string(n);
    if (!fs::exists(path)) {
      if (n > 0) break;
      continue;
    }
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) ids.insert(message_id_of(line));
  }
  return ids;
}

std::set<std::string> unique_ids_in_files(const std::string& base) {
  const std::multiset<std::string> ids = ids_in_files(base);
  return {ids.begin(), ids.end()};
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

TEST(CliRoute, AllFourActionsThroughRabbitMqWithAReloadUnderTrafficAndADrain) {
  if (std::string(HERALD_CLI_PATH).empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const auto test_started = std::chrono::steady_clock::now();
  const std::string topic = unique_name("route");
  const std::string forward_topic = unique_name("route-fwd");
  const std::string pool = unique_name("route-pool");
  const std::string url = broker_url("?dead_letter_exchange=" + unique_name("route-dlx"));
  const fs::path dir = fs::temp_directory_path() / unique_name("route-files");
  fs::create_directories(dir);
  const std::string audit = (dir / "audit.jsonl").string();
  const std::string audit_after = (dir / "audit-after.jsonl").string();
  const std::string routes_path = (dir / "routes.yaml").string();

  // The first three requests fail (503): requeued, then delivered. /down always fails.
  HttpReceiver hook([](std::size_t n, const std::string&) { return n < 3 ? 503 : 200; });
  HttpReceiver down([](std::size_t, const std::string&) { return 500; });

  auto routes = [&](const std::string& audit_path) {
    return "transport_url: '" + url + "'\n" + "targets: [{topic: " + topic +
           "}]\n"
           "pool: " +
           pool +
           "\n"
           "workers: 4\n"
           "max_redeliveries: 3\n"
           "endpoints:\n"
           "  - name: audit-file\n"
           "    priorities: [info]\n"
           "    filter: {publisher_id: '^compute\\.'}\n"
           "    file: {path: " +
           audit_path +
           ", max_bytes: 4096, keep: 50}\n"
           "  - name: hook\n"
           "    priorities: [error]\n"
           "    webhook: {url: '" +
           hook.url() +
           "', timeout: 5}\n"
           "  - name: broken-hook\n"
           "    priorities: [warn]\n"
           "    filter: {event_type: '^doomed\\.'}\n"
           "    webhook: {url: '" +
           down.url() +
           "', connect_timeout: 1, timeout: 2}\n"
           "  - name: forward\n"
           "    priorities: [critical]\n"
           "    republish: {topic: " +
           forward_topic +
           ", timeout: 10}\n"
           "  - name: trace\n"
           "    priorities: [info]\n"
           "    filter: {event_type: '^trace\\.', context: {request_id: '^req-'}}\n"
           "    log: {level: info}\n";
  };
  std::ofstream(routes_path) << routes(audit);

  // The test's side: a notifier for the route's input and a consumer of the republished copies.
  auto transport = Transport::open(url);
  std::mutex forwarded_mutex;
  std::vector<Notification> forwarded;
  Endpoint collector{"collector"};
  collector.on(Priority::critical, [&](const Notification& n) {
    std::lock_guard lock(forwarded_mutex);
    forwarded.push_back(n);
    return Result::handled;
  });
  NotificationServer downstream(transport, {Target{forward_topic, ""}}, {collector}, {.workers = 1});
  downstream.start();

  CliProcess route("route", {"route", "--config", routes_path, "--metrics-address",
                             "127.0.0.1:" + std::to_string(kMetricsPort), "--shutdown-timeout", "10"});
  ASSERT_TRUE(route.started());
  // Ready, and ready is this child (not a leftover holding the port: it would have exited).
  ASSERT_TRUE(eventually([&] { return http_get(kMetricsPort, "/readyz").status == 200; }, 30s))
      << "herald route never became ready: " << route.err();
  ASSERT_FALSE(route.wait(200ms).has_value()) << "herald route exited: " << route.err();

  Notifier compute(transport, {.publisher_id = "compute.host1", .topics = {topic}, .sanitize_context = false});
  Notifier network(transport, {.publisher_id = "network.host1", .topics = {topic}, .sanitize_context = false});
  for (int i = 0; i < 40; ++i) compute.info("{}", "compute.instance.update", R"({"i": )" + std::to_string(i) + "}");
  for (int i = 0; i < 10; ++i) network.info("{}", "network.port.update", "{}");                  // matches nothing
  for (int i = 0; i < 5; ++i) network.info(R"({"request_id": "req-1"})", "trace.call", "{}");    // log
  network.info(R"({"request_id": "other"})", "trace.call", "{}");                                // matches nothing
  for (int i = 0; i < 6; ++i) network.error("{}", "network.failure", "{}");                      // hook
  for (int i = 0; i < 2; ++i) network.warn("{}", "doomed.event", "{}");                          // dead letter
  network.warn("{}", "benign.event", "{}");                                                      // matches nothing
  for (int i = 0; i < 8; ++i) compute.critical("{}", "compute.host.down", R"({"host": "h1"})");  // republish
  ASSERT_TRUE(compute.flush(30s).ok());
  ASSERT_TRUE(network.flush(30s).ok());

  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(forwarded_mutex);
        return ids_in_files(audit).size() >= 40 && hook.accepted().size() >= 6 && forwarded.size() >= 8 &&
               down.requests() >= 8;
      },
      30s))
      << "file " << ids_in_files(audit).size() << ", hook " << hook.accepted().size() << ", down " << down.requests()
      << "\n"
      << route.err();
  EXPECT_EQ(ids_in_files(audit).size(), 40u);
  EXPECT_EQ(unique_ids_in_files(audit).size(), 40u);
  EXPECT_TRUE(fs::exists(audit + ".1")) << "40 lines of ~300 bytes rotate at 4096 bytes";
  EXPECT_EQ(hook.accepted().size(), 6u);
  EXPECT_EQ(hook.requests(), 9u) << "3 failed (requeued) + 6 delivered";
  {
    std::lock_guard lock(forwarded_mutex);
    EXPECT_EQ(forwarded.size(), 8u);
    for (const Notification& n : forwarded) {
      EXPECT_EQ(n.publisher_id, "compute.host1");
      EXPECT_EQ(n.event_type, "compute.host.down");
    }
  }
  // The always-failing webhook: 1 delivery + 3 requeues each, then the dead-letter queue.
  EXPECT_EQ(down.requests(), 8u);
  DeadLetterQueue dlq(transport);
  ASSERT_TRUE(eventually([&] { return dlq.inspect().size() >= 2; }, 15s));
  const auto letters = dlq.inspect();
  ASSERT_EQ(letters.size(), 2u);
  for (const DeadLetter& letter : letters) {
    ASSERT_TRUE(letter.notification.has_value());
    EXPECT_EQ(letter.notification->event_type, "doomed.event");
  }
  EXPECT_TRUE(eventually([&] { return count_of(route.err(), "route trace: info trace.call") == 5; }, 5s))
      << route.err();
  const HttpReply metrics = http_get(kMetricsPort, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(herald_handler_duration_seconds_count{endpoint="audit-file"})"), std::string::npos);

  // Reload under traffic: the file endpoint moves to another path while 400 notifications flow.
  constexpr int kDuringReload = 400;
  std::atomic<int> sent{0};
  std::thread producer([&] {
    for (int i = 0; i < kDuringReload; ++i) {
      compute.info("{}", "compute.instance.update", R"({"phase": "reload"})");
      sent.store(i + 1);
      std::this_thread::sleep_for(5ms);
    }
  });
  ASSERT_TRUE(eventually([&] { return sent.load() >= kDuringReload / 3; }, 20s));
  std::ofstream(routes_path) << routes(audit_after);
  route.signal(SIGHUP);
  const bool reloaded =
      eventually([&] { return route.err().find("reloaded " + routes_path) != std::string::npos; }, 20s);
  producer.join();
  ASSERT_TRUE(compute.flush(30s).ok());
  ASSERT_TRUE(reloaded) << route.err();
  EXPECT_GT(sent.load(), 0);
  ASSERT_TRUE(eventually(
      [&] { return unique_ids_in_files(audit).size() + ids_in_files(audit_after).size() >= 40u + kDuringReload; },
      30s));
  std::multiset<std::string> all = ids_in_files(audit);
  const std::size_t before = all.size() - 40;
  const std::multiset<std::string> after = ids_in_files(audit_after);
  all.insert(after.begin(), after.end());
  const std::set<std::string> unique(all.begin(), all.end());
  std::printf("route reload: %zu written before the reload, %zu after; %zu unique of %d; duplicates %zu\n", before,
              after.size(), unique.size() - 40, kDuringReload, all.size() - unique.size());
  EXPECT_EQ(unique.size(), 40u + kDuringReload) << "nothing lost across the reload";
  EXPECT_GT(after.size(), 0u) << "the new routes wrote to the new path";

  // SIGTERM: drains and exits 0 with the summary.
  const auto signalled = std::chrono::steady_clock::now();
  route.signal(SIGTERM);
  const std::optional<int> status = route.wait(15s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  ASSERT_TRUE(status.has_value()) << "herald route did not exit after SIGTERM";
  EXPECT_EQ(*status, 0) << route.err();
  EXPECT_LE(took, 11.0);
  const std::string err = route.err();
  EXPECT_NE(err.find("herald route: stopped by SIGTERM: "), std::string::npos) << err;
  EXPECT_NE(err.find("2 dead-lettered"), std::string::npos) << err;
  EXPECT_NE(err.find("herald route: endpoint hook (webhook): 6 delivered, 3 failed"), std::string::npos) << err;
  EXPECT_NE(err.find("herald route: endpoint broken-hook (webhook): 0 delivered, 8 failed"), std::string::npos) << err;
  EXPECT_NE(err.find("herald route: endpoint forward (republish): 8 delivered, 0 failed"), std::string::npos) << err;
  EXPECT_NE(err.find("herald route: endpoint trace (log): 5 delivered, 0 failed"), std::string::npos) << err;
  EXPECT_NE(err.find("herald route: 1 reload(s)"), std::string::npos) << err;
  downstream.stop();
  downstream.wait();
  fs::remove_all(dir);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - test_started).count();
  std::printf("route end to end: %.1f s, SIGTERM to exit %.2f s\n", total, took);
  EXPECT_LT(total, 60.0);
}

TEST(CliRoute, ABadRoutesFileFailsFastNamingFileLineAndField) {
  if (std::string(HERALD_CLI_PATH).empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const std::string path = "/tmp/" + unique_name("bad-routes") + ".yaml";
  std::ofstream(path) << "endpoints:\n  - name: a\n    file: {path: /tmp/x, keep: many}\n";
  CliProcess route("route-bad", {"route", "--config", path, "--url", broker_url()});
  const std::optional<int> status = route.wait(20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 2);
  EXPECT_NE(route.err().find(path + ":3: endpoints[0].file.keep: expected an integer"), std::string::npos)
      << route.err();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace herald::test
