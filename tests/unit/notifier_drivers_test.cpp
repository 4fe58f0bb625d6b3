// Notifier drivers: messaging (v1), messagingv2, log, routing, noop, test.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace herald;
using herald::test::eventually;

namespace {

struct Received {
  std::mutex mutex;
  std::vector<Notification> all;
  Endpoint endpoint() {
    Endpoint e{"collect"};
    e.on({Priority::audit, Priority::debug, Priority::info, Priority::warn, Priority::error, Priority::critical,
          Priority::sample},
         [this](const Notification& n) {
           std::lock_guard lock(mutex);
           all.push_back(n);
           return Result::handled;
         });
    return e;
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return all.size();
  }
};

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/herald-routing-XXXXXX";
    int fd = ::mkstemp(name);
    ::close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(MessagingDrivers, V1AndV2DeliverTheSameFieldsAndContext) {
  for (const char* driver : {"messaging", "messagingv2"}) {
    auto transport = Transport::open("memory://");
    Received received;
    NotificationServer server(transport, {Target{}}, {received.endpoint()});
    server.start();
    Notifier notifier(transport, {.publisher_id = "compute.host1", .drivers = {driver}});
    notifier.error(R"({"user": "alice", "request_id": "req-1"})", "compute.instance.fault",
                   R"({"reason": "h\u00e9llo ☃ 𝄞", "n": 1.5})");
    ASSERT_TRUE(eventually([&] { return received.size() == 1; })) << driver;
    const Notification& n = received.all[0];
    EXPECT_EQ(n.priority, Priority::error);
    EXPECT_EQ(n.publisher_id, "compute.host1");
    EXPECT_EQ(n.event_type, "compute.instance.fault");
    EXPECT_EQ(n.payload_json(), R"({"reason":"héllo ☃ 𝄞","n":1.5})") << driver;
    EXPECT_EQ(n.context_json(), R"({"user":"alice","request_id":"req-1"})");
    EXPECT_EQ(n.unique_id.size(), 32u);
  }
}

TEST(MessagingDrivers, SameMessageIdDifferentUniqueIdPerTopic) {
  auto transport = Transport::open("memory://");
  Received a, b;
  NotificationServer server_a(transport, {Target{.topic = "a"}}, {a.endpoint()});
  NotificationServer server_b(transport, {Target{.topic = "b"}}, {b.endpoint()});
  server_a.start();
  server_b.start();
  Notifier notifier(transport, {.topics = {"a", "b"}});
  notifier.info("{}", "e", "{}");
  ASSERT_TRUE(eventually([&] { return a.size() == 1 && b.size() == 1; }));
  EXPECT_EQ(a.all[0].message_id, b.all[0].message_id);
  EXPECT_NE(a.all[0].unique_id, b.all[0].unique_id);
}

TEST(LogDriver, OneLinePerNotificationAtTheMappedLevelWithoutPayload) {
  auto transport = Transport::open("memory://");
  test::CapturedLog log;
  Notifier notifier(transport, {.publisher_id = "svc", .drivers = {"log"}, .logger = log.logger});
  notifier.error("{}", "disk.full", R"({"secret": "hunter2"})");
  notifier.audit("{}", "user.login", R"({"secret": "hunter2"})");
  notifier.sample("{}", "cpu.util", "{}");
  std::string text = log.text();
  EXPECT_NE(text.find("[error] notification ERROR disk.full from svc"), std::string::npos) << text;
  EXPECT_NE(text.find("[info] notification AUDIT user.login"), std::string::npos) << text;
  EXPECT_NE(text.find("[debug] notification SAMPLE cpu.util"), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

TEST(NoopDriver, SendsNothing) {
  auto transport = Transport::open("memory://");
  Received received;
  NotificationServer server(transport, {Target{}}, {received.endpoint()});
  server.start();
  Notifier notifier(transport, {.drivers = {"noop"}});
  notifier.info("{}", "e", "{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(received.size(), 0u);
  EXPECT_EQ(notifier.stats().sent, 0u);
}

TEST(TestDriver, UsesTheGivenCaptureAndClears) {
  auto transport = Transport::open("memory://");
  auto capture = std::make_shared<NotificationCapture>();
  Notifier notifier(transport, {.drivers = {"test"}, .capture = capture});
  notifier.info("{}", "e", "{}");
  EXPECT_EQ(capture->size(), 1u);
  EXPECT_EQ(notifier.capture(), capture);
  capture->clear();
  EXPECT_EQ(capture->size(), 0u);
}

TEST(RoutingDriver, SelectsDriversByEventGlobAndPriorityGlob) {
  TempFile config(R"(
g1:
  test:
    accepted_events: ['compute.instance.*']
    accepted_priorities: ['INFO', 'warn']
  log:
    accepted_priorities: ['error']
g2:
  test:
    accepted_events: ['*.delete.*']
)");
  auto transport = Transport::open("memory://");
  test::CapturedLog log;
  Notifier notifier(transport, {.drivers = {"routing"}, .routing_config = config.path(), .logger = log.logger});
  auto capture = notifier.capture();
  ASSERT_NE(capture, nullptr);
  notifier.info("{}", "compute.instance.create.end", "{}");   // g1 test
  notifier.error("{}", "compute.instance.create.end", "{}");  // g1 log only
  notifier.debug("{}", "image.delete.start", "{}");           // g2 test
  notifier.info("{}", "volume.attach", "{}");                 // nothing
  notifier.warn("{}", "compute.instance.delete.x", "{}");     // both groups select test: called once
  auto got = capture->notifications();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].event_type, "compute.instance.create.end");
  EXPECT_EQ(got[1].event_type, "image.delete.start");
  EXPECT_EQ(got[2].event_type, "compute.instance.delete.x");
  EXPECT_NE(log.text().find("notification ERROR compute.instance.create.end"), std::string::npos);
  EXPECT_EQ(log.text().find("volume.attach"), std::string::npos);
}

TEST(RoutingDriver, ADriverWithoutRulesAlwaysMatches) {
  TempFile config("g:\n  test:\n");
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, {.drivers = {"routing"}, .routing_config = config.path()});
  notifier.sample("{}", "anything", "{}");
  EXPECT_EQ(notifier.capture()->size(), 1u);
}

TEST(RoutingDriver, BadFilesFailAtConstructionNamingTheProblem) {
  auto transport = Transport::open("memory://");
  auto message_of = [&](const std::string& path) {
    try {
      Notifier n(transport, {.drivers = {"routing"}, .routing_config = path});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of("/nonexistent/routing.yaml").find("routing_config"), std::string::npos);
  TempFile not_a_map("- a\n- b\n");
  EXPECT_NE(message_of(not_a_map.path()).find("routing_config"), std::string::npos);
  TempFile unknown_driver("g:\n  kafka: {}\n");
  EXPECT_NE(message_of(unknown_driver.path()).find("kafka"), std::string::npos);
  TempFile nested("g:\n  routing: {}\n");
  EXPECT_NE(message_of(nested.path()).find("routing"), std::string::npos);
  TempFile bad_rule("g:\n  test:\n    accepted_events: 'x'\n");
  EXPECT_NE(message_of(bad_rule.path()).find("accepted_events"), std::string::npos);
}

}  // namespace
