// The CLI's metrics server (tools/metrics_server) over loopback HTTP: /metrics shows the
// counters moving while traffic runs on memory://; /healthz; /readyz follows the readiness check.
#include "metrics_support.hpp"
#include "test_support.hpp"

#include "tools/metrics_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace herald;
using herald::test::eventually;
using herald::test::http_get;
using herald::test::sample;

namespace {

double scraped(unsigned short port, const std::string& series) {
  test::HttpReply reply = http_get(port, "/metrics");
  if (reply.status != 200) return -1;
  return sample(reply.body, series).value_or(-1);
}

TEST(MetricsHttp, ScrapesShowTheCountersMovingUnderTraffic) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://", {.metrics = metrics});
  std::atomic<int> handled{0};
  Endpoint e{"count"};
  e.on(Priority::info, [&](const Notification&) { return handled.fetch_add(1), Result::handled; });
  NotificationServer server(transport, {Target{}}, {e}, {.workers = 2, .metrics = metrics});
  server.start();
  cli::MetricsServer http("127.0.0.1:0", metrics, [&] { return cli::readiness_of(*transport); });
  ASSERT_NE(http.port(), 0);

  std::atomic<bool> stop{false};
  std::thread producer([&] {
    Notifier notifier(transport, {.publisher_id = "p", .metrics = metrics});
    while (!stop.load()) {
      notifier.info("{}", "e", R"({"x": 1})");
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    notifier.flush(std::chrono::seconds(5));
  });
  const std::string sent = R"(herald_notifications_sent_total{priority="info"})";
  ASSERT_TRUE(eventually([&] { return scraped(http.port(), sent) > 0; }));
  const double first_sent = scraped(http.port(), sent);
  const double first_handled = scraped(http.port(), "herald_server_handled_total");
  EXPECT_TRUE(eventually([&] { return scraped(http.port(), sent) > first_sent + 50; }));
  EXPECT_TRUE(eventually([&] { return scraped(http.port(), "herald_server_handled_total") > first_handled + 50; }));
  stop.store(true);
  producer.join();
  test::HttpReply reply = http_get(http.port(), "/metrics");
  EXPECT_NE(reply.body.find("# TYPE herald_confirm_latency_seconds histogram"), std::string::npos);
  EXPECT_EQ(sample(reply.body, R"(herald_transport_state{state="connected"})"), 1);
  server.stop();
  server.wait();
}

TEST(MetricsHttp, HealthzAlwaysAndReadyzFollowsTheCheck) {
  std::atomic<bool> ready{false};
  cli::MetricsServer http("127.0.0.1:0", Metrics::create(), [&]() -> cli::Readiness {
    if (ready.load()) return {true, {}};
    return {false, "connecting: broker unreachable"};
  });
  EXPECT_EQ(http_get(http.port(), "/healthz").status, 200);
  test::HttpReply not_ready = http_get(http.port(), "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("connecting: broker unreachable"), std::string::npos) << not_ready.body;
  ready.store(true);
  EXPECT_EQ(http_get(http.port(), "/readyz").status, 200);
  EXPECT_EQ(http_get(http.port(), "/nothing").status, 404);
}

TEST(MetricsHttp, ABadAddressIsAnError) {
  EXPECT_THROW(cli::MetricsServer("no-port", Metrics::create(), {}), std::runtime_error);
  EXPECT_THROW(cli::MetricsServer("127.0.0.1:99999", Metrics::create(), {}), std::runtime_error);
  cli::MetricsServer taken("127.0.0.1:0", Metrics::create(), {});
  EXPECT_THROW(cli::MetricsServer("127.0.0.1:" + std::to_string(taken.port()), Metrics::create(), {}),
               std::runtime_error);
}

}  // namespace
