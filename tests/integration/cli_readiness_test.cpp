// `herald listen --metrics-address` against RabbitMQ: /metrics shows the server's counters moving
// while `herald send` runs; /readyz is 200 while connected, 503 (with the reason) while the
// broker is down, 200 again after it is back, and the reconnect is counted in /metrics.
//
// The readiness test needs the amqp driver's TransportStatus (connecting/connected on
// connection loss and recovery); until the driver reports it, its 503 step fails.
#include "tests/integration/amqp_support.hpp"
#include "tests/integration/cli_process.hpp"
#include "tests/unit/metrics_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

bool eventually_status(unsigned short port, const std::string& path, int status, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (http_get(port, path).status == status) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST(CliMetrics, ListenServesCountersThatMoveUnderTraffic) {
  if (std::string(HERALD_CLI_PATH).empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  constexpr int kCount = 3000;
  const unsigned short port = free_port();
  const std::string topic = unique_name("metrics");
  CliProcess listener("listen-metrics", {"listen", "--url", broker_url(), "--topic", topic, "--priority", "info",
                                         "--metrics-address", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(eventually_status(port, "/readyz", 200, 60s)) << listener.err();
  CliProcess sender("send-metrics", {"send", "--url", broker_url(), "--topic", topic, "--priority", "info",
                                     "--publisher-id", "metrics.test", "--event-type", "metrics.event", "--payload",
                                     "{}", "--count", std::to_string(kCount)});
  // Scrape while the traffic runs: the handled count is seen strictly between 0 and the total
  // at least once, and rising.
  std::vector<double> seen;
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < deadline) {
    double handled = sample(http_get(port, "/metrics").body, "herald_server_handled_total").value_or(-1);
    if (seen.empty() || handled != seen.back()) seen.push_back(handled);
    if (handled >= kCount) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), kCount);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_TRUE(std::any_of(seen.begin(), seen.end(), [](double v) { return v > 0 && v < kCount; }))
      << "no scrape saw the traffic in progress";
  EXPECT_EQ(sender.wait(60s), std::optional<int>(0)) << sender.err();
  HttpReply metrics = http_get(port, "/metrics");
  EXPECT_EQ(sample(metrics.body, "herald_server_received_total"), kCount);
  EXPECT_EQ(sample(metrics.body, "herald_server_backlog"), 0);
  EXPECT_EQ(sample(metrics.body, R"(herald_handler_duration_seconds_count{endpoint="listen"})"), kCount);
  EXPECT_EQ(sample(metrics.body, R"(herald_transport_state{state="connected"})"), 1);

  listener.signal(SIGTERM);
  EXPECT_EQ(listener.wait(15s), std::optional<int>(0)) << "drained everything: exit 0; " << listener.err();
  EXPECT_NE(listener.err().find("herald listen: stopped by SIGTERM: 3000 handled, 0 released"), std::string::npos)
      << listener.err();
}

TEST(CliReadiness, ReadyzFollowsTheBrokerGoingDownAndComingBack) {
  if (std::string(HERALD_CLI_PATH).empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const unsigned short port = free_port();
  CliProcess listener("listen-ready",
                      {"listen", "--url", broker_url("?reconnect_max_delay=1"), "--topic", unique_name("ready"),
                       "--priority", "info", "--metrics-address", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(eventually_status(port, "/readyz", 200, 60s)) << listener.err();
  EXPECT_EQ(http_get(port, "/healthz").status, 200);

  ASSERT_TRUE(broker_script("stop"));
  const bool went_down = eventually_status(port, "/readyz", 503, 30s);
  HttpReply down = http_get(port, "/readyz");
  EXPECT_EQ(http_get(port, "/healthz").status, 200) << "alive even while the broker is down";
  ASSERT_TRUE(broker_script("start"));  // always restart the broker for the other tests
  EXPECT_TRUE(went_down) << "/readyz stayed 200 with the broker down (does the amqp driver report status()?)";
  if (went_down) {
    EXPECT_NE(down.body.find("not ready: "), std::string::npos) << down.body;
  }

  EXPECT_TRUE(eventually_status(port, "/readyz", 200, 90s)) << http_get(port, "/readyz").body;
  HttpReply metrics = http_get(port, "/metrics");
  EXPECT_EQ(sample(metrics.body, R"(herald_transport_state{state="connected"})"), 1) << metrics.body;
  if (went_down) {
    EXPECT_GE(sample(metrics.body, "herald_transport_reconnects_total").value_or(0), 1);
  }

  listener.signal(SIGTERM);
  EXPECT_TRUE(listener.wait(15s).has_value());
}

}  // namespace
}  // namespace herald::test
