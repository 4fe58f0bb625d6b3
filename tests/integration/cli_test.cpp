// herald send and herald listen pass 1,000 notifications through RabbitMQ between two processes.
#include "tests/integration/amqp_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace herald::test {
namespace {

std::string cli() { return HERALD_CLI_PATH; }

TEST(Cli, SendAndListenPassAThousandNotificationsThroughRabbitMQ) {
  if (cli().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const std::string topic = unique_name("cli");
  const std::string url = broker_url();
  // The listener runs in its own process; its stdout comes back through the pipe.
  std::string listen =
      cli() + " listen --url '" + url + "' --topic " + topic + " --priority info --count 1000 --timeout 120";
  FILE* listener = ::popen(listen.c_str(), "r");
  ASSERT_NE(listener, nullptr);
  std::string send = cli() + " send --url '" + url + "' --topic " + topic +
                     " --priority info --publisher-id cli.test --event-type cli.event" +
                     " --payload '{\"n\": 1, \"s\": \"h\\u00e9llo\"}' --context '{\"request_id\": \"req-cli\"}'" +
                     " --count 1000 --timeout 60 > /dev/null";
  int send_status = std::system(send.c_str());
  EXPECT_EQ(WEXITSTATUS(send_status), 0) << "herald send did not confirm every notification";

  std::set<std::string> ids;
  char line[65536];
  std::size_t lines = 0;
  while (std::fgets(line, sizeof line, listener)) {
    ++lines;
    rapidjson::Document doc;
    doc.Parse(line);
    ASSERT_FALSE(doc.HasParseError()) << line;
    EXPECT_STREQ(doc["publisher_id"].GetString(), "cli.test");
    EXPECT_STREQ(doc["event_type"].GetString(), "cli.event");
    EXPECT_STREQ(doc["priority"].GetString(), "info");
    EXPECT_EQ(doc["payload"]["n"].GetInt(), 1);
    EXPECT_STREQ(doc["payload"]["s"].GetString(), "h\xc3\xa9llo");
    EXPECT_STREQ(doc["context"]["request_id"].GetString(), "req-cli");
    EXPECT_TRUE(doc["timestamp"].IsString());
    ids.insert(doc["message_id"].GetString());
  }
  int listen_status = ::pclose(listener);
  EXPECT_EQ(WEXITSTATUS(listen_status), 0) << "herald listen did not see --count notifications";
  EXPECT_EQ(lines, 1000u);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Cli, ListenExitsNonZeroOnTimeout) {
  if (cli().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  std::string listen = cli() + " listen --url '" + broker_url() + "' --topic " + unique_name("idle") +
                       " --priority info --count 1 --timeout 1 > /dev/null 2>&1";
  int status = std::system(listen.c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
}

TEST(Cli, SendReportsFailureWithANonZeroExit) {
  if (cli().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  std::string send = cli() + " send --url 'amqp://guest:guest@127.0.0.1:1/?reconnect_max_delay=0.2' --topic t" +
                     " --publisher-id p --event-type e --payload '{}' --timeout 2 > /dev/null 2>&1";
  int status = std::system(send.c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace herald::test
