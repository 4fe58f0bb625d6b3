// SIGTERM to `herald listen` while it holds 500 deliveries (slow handler): it drains until the
// shutdown deadline, releases the rest, exits within deadline + 1 s, and nothing is lost: every
// message was either handled or is back in the queue (a second listener gets it).
#include "tests/integration/amqp_support.hpp"
#include "tests/integration/cli_process.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

std::set<std::string> message_ids(const std::vector<std::string>& lines, std::size_t& parsed) {
  std::set<std::string> ids;
  for (const std::string& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("message_id")) continue;
    ++parsed;
    ids.insert(doc["message_id"].GetString());
  }
  return ids;
}

TEST(CliShutdown, SigtermWhileHoldingFiveHundredDeliveriesLosesNothing) {
  if (std::string(HERALD_CLI_PATH).empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  constexpr std::size_t kCount = 500;
  constexpr double kShutdownTimeout = 5;
  const std::string topic = unique_name("shutdown");
  const std::string url = broker_url();
  const std::vector<std::string> common = {"--url", url, "--topic", topic, "--priority", "info"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"listen"};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  {  // Declares the queue (a send to an unbound routing key would be refused).
    CliProcess declare("declare", with({"--count", "1", "--timeout", "2"}));
    ASSERT_TRUE(declare.wait(60s).has_value());
  }
  {
    std::vector<std::string> send = {"send",
                                     "--url",
                                     url,
                                     "--topic",
                                     topic,
                                     "--priority",
                                     "info",
                                     "--publisher-id",
                                     "shutdown.test",
                                     "--event-type",
                                     "shutdown.event",
                                     "--payload",
                                     R"({"n": 1})",
                                     "--count",
                                     std::to_string(kCount),
                                     "--timeout",
                                     "60"};
    CliProcess sender("send", send);
    auto status = sender.wait(90s);
    ASSERT_EQ(status, std::optional<int>(0)) << sender.err();
  }

  // 20 ms per message: 500 take 10 s, longer than the 5 s shutdown deadline.
  CliProcess listener("listen-slow", with({"--handler-delay-ms", "20", "--shutdown-timeout", "5"}));
  ASSERT_TRUE(listener.started());
  const auto seen = std::chrono::steady_clock::now() + 60s;
  while (listener.out_lines().size() < 20 && std::chrono::steady_clock::now() < seen) std::this_thread::sleep_for(10ms);
  ASSERT_GE(listener.out_lines().size(), 20u) << listener.err();

  const auto signalled = std::chrono::steady_clock::now();
  listener.signal(SIGTERM);
  std::optional<int> status = listener.wait(30s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  ASSERT_TRUE(status.has_value()) << "herald listen did not exit after SIGTERM";
  EXPECT_LE(took, kShutdownTimeout + 1) << "exit took " << took << " s";
  EXPECT_EQ(*status, 3) << "released work gives exit code 3; stderr: " << listener.err();
  EXPECT_NE(listener.err().find("herald listen: stopped by SIGTERM:"), std::string::npos) << listener.err();

  std::size_t handled_lines = 0;
  std::set<std::string> handled = message_ids(listener.out_lines(), handled_lines);
  EXPECT_GT(handled.size(), 20u);
  EXPECT_LT(handled.size(), kCount) << "the deadline should have cut the drain short";

  // Everything not handled is back in the queue.
  CliProcess rest("listen-rest", with({"--timeout", "8"}));
  ASSERT_TRUE(rest.wait(60s).has_value());
  std::size_t rest_lines = 0;
  std::set<std::string> remaining = message_ids(rest.out_lines(), rest_lines);
  std::set<std::string> all = handled;
  all.insert(remaining.begin(), remaining.end());
  const std::size_t lost = kCount - std::min(kCount, all.size());
  const std::size_t duplicated = handled_lines + rest_lines - all.size();
  std::printf("shutdown: handled before exit %zu, after %zu; lost %zu, duplicated %zu, exit after %.2f s\n",
              handled.size(), remaining.size(), lost, duplicated, took);
  EXPECT_EQ(all.size(), kCount);
  EXPECT_EQ(lost, 0u);
}

}  // namespace
}  // namespace herald::test
