// The herald CLI's output and flags: --version, valid JSON lines whatever the payload holds,
// _unique_id, counters at exit, every filter kind, send --stdin, send flags and failure reports,
// colours only when asked.
#include "tests/integration/amqp_support.hpp"
#include "tests/integration/cli_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

namespace herald::test {
namespace {

std::vector<rapidjson::Document> json_lines(const std::string& text) {
  std::vector<rapidjson::Document> docs;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    docs.emplace_back();
    docs.back().Parse(line.c_str());
    EXPECT_FALSE(docs.back().HasParseError()) << "not one JSON object: " << line;
  }
  return docs;
}

std::string send(const std::string& topic, const std::string& extra) {
  return cli_path() + " send --url '" + broker_url() + "' --topic " + topic + " --timeout 30 " + extra;
}

std::string listen(const std::string& topic, const std::string& extra) {
  return cli_path() + " listen --url '" + broker_url() + "' --topic " + topic + " --timeout 60 " + extra;
}

#define REQUIRE_CLI() \
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration"

TEST(CliTools, Version) {
  REQUIRE_CLI();
  CommandResult result = run_command(cli_path() + " --version");
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out.rfind("herald ", 0), 0u) << result.out;
}

// What a Python (oslo.messaging) sender emits for a payload holding NaN and infinities.
std::string python_body_with_non_finite_numbers(int n) {
  return R"({"oslo.version": "2.0", "oslo.message": "{\"message_id\": \"6b3cbd6f-8f1c-4b6e-9d55-00000000000)" +
         std::to_string(n) +
         R"(\", \"publisher_id\": \"py.sender\", \"event_type\": \"nan.event\", \"priority\": \"INFO\", )"
         R"(\"payload\": {\"x\": NaN, \"y\": [Infinity, -Infinity], \"z\": 1.5}, )"
         R"(\"timestamp\": \"2026-01-01 00:00:00.000000\", \"_unique_id\": \"0123456789abcdef0123456789abcde)" +
         std::to_string(n) + R"(\"}"})";
}

// Sends `body` to <topic>.info until the listener's queue exists (it declares it at start).
void send_raw_when_bound(const std::string& topic, const std::string& body) {
  auto transport = Transport::open(broker_url());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    SendTracker sent;
    transport->driver().send(message("openstack", topic + ".info", body), sent.callback());
    if (sent.wait(1, std::chrono::seconds(10)) && sent.ok() == 1) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ADD_FAILURE() << "the listener's queue never appeared";
}

TEST(CliTools, NonFiniteNumbersStillGiveValidJsonLines) {
  REQUIRE_CLI();
  const std::string topic = unique_name("nan");
  BackgroundCommand listener(listen(topic, "--count 2 --priority info"));
  send_raw_when_bound(topic, python_body_with_non_finite_numbers(1));
  send_raw_when_bound(topic, python_body_with_non_finite_numbers(2));
  CommandResult listened = listener.wait();
  EXPECT_EQ(listened.status, 0) << listened.err;
  auto docs = json_lines(listened.out);
  ASSERT_EQ(docs.size(), 2u) << listened.out;
  for (const rapidjson::Document& doc : docs) {
    EXPECT_TRUE(doc["payload"]["x"].IsNull());
    EXPECT_TRUE(doc["payload"]["y"][0].IsNull());
    EXPECT_TRUE(doc["payload"]["y"][1].IsNull());
    EXPECT_EQ(doc["payload"]["z"].GetDouble(), 1.5);
    EXPECT_TRUE(doc["non_finite"].GetBool());
    EXPECT_STREQ(doc["event_type"].GetString(), "nan.event");  // the rest of the line is there
    ASSERT_TRUE(doc["_unique_id"].IsString());
    EXPECT_EQ(doc["_unique_id"].GetStringLength(), 32u);
  }
}

TEST(CliTools, PythonSpellingOfNonFiniteNumbersOnRequest) {
  REQUIRE_CLI();
  const std::string topic = unique_name("nan-py");
  BackgroundCommand listener(listen(topic, "--count 1 --priority info --non-finite python"));
  send_raw_when_bound(topic, python_body_with_non_finite_numbers(3));
  CommandResult listened = listener.wait();
  EXPECT_NE(listened.out.find("\"payload\":{\"x\":NaN,\"y\":[Infinity,-Infinity],\"z\":1.5}"), std::string::npos)
      << listened.out;
  EXPECT_EQ(listened.out.find("non_finite"), std::string::npos) << listened.out;
}

TEST(CliTools, UniqueIdIsNullWhenTheSenderSentNone) {
  REQUIRE_CLI();
  const std::string topic = unique_name("no-unique-id");
  BackgroundCommand listener(listen(topic, "--count 1 --priority info"));
  send_raw_when_bound(
      topic,
      R"({"oslo.version": "2.0", "oslo.message": "{\"message_id\": \"m1\", \"publisher_id\": \"p\", )"
      R"(\"event_type\": \"e\", \"priority\": \"INFO\", \"payload\": {}, \"timestamp\": \"2026-01-01 00:00:00.000000\"}"})");
  auto docs = json_lines(listener.wait().out);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_TRUE(docs[0]["_unique_id"].IsNull());
}

TEST(CliTools, ListenPrintsItsCountersAtExit) {
  REQUIRE_CLI();
  const std::string topic = unique_name("counters");
  BackgroundCommand listener(listen(topic, "--count 3"));
  ASSERT_EQ(run_command(send(topic, "--publisher-id p --event-type e --payload '{}' --count 3")).status, 0);
  CommandResult listened = listener.wait();
  EXPECT_EQ(listened.status, 0);
  EXPECT_NE(listened.err.find("herald listen: done: 3 handled, 0 released, 0 dead-lettered, 0 duplicates"),
            std::string::npos)
      << listened.err;
  EXPECT_EQ(listened.err.find('\r'), std::string::npos) << "no progress line when stderr is not a terminal";
}

TEST(CliTools, ListenFiltersOnContextMetadataAndPayload) {
  REQUIRE_CLI();
  const std::string topic = unique_name("filters");
  BackgroundCommand listener(
      listen(topic, "--count 1 --context 'project_id=^p1$' --payload 'state=^active' --metadata 'timestamp=^20'"));
  TempFile lines(
      "{\"event_type\": \"a\", \"context\": {\"project_id\": \"p2\"}, \"payload\": {\"state\": \"active\"}}\n"
      "{\"event_type\": \"b\", \"context\": {\"project_id\": \"p1\"}, \"payload\": {\"state\": \"error\"}}\n"
      "{\"event_type\": \"c\", \"context\": {\"project_id\": \"p1\"}, \"payload\": {\"state\": \"active\"}}\n");
  CommandResult sent = run_command(send(topic, "--publisher-id p --stdin < " + lines.path()));
  ASSERT_EQ(sent.status, 0) << sent.out << sent.err;
  CommandResult listened = listener.wait();
  EXPECT_EQ(listened.status, 0) << listened.err;
  auto docs = json_lines(listened.out);
  ASSERT_EQ(docs.size(), 1u) << listened.out;
  EXPECT_STREQ(docs[0]["event_type"].GetString(), "c");
  EXPECT_NE(listened.err.find("filtered 2"), std::string::npos) << listened.err;
}

TEST(CliTools, SendStdinTakesEachFieldPerLineWithDefaultsFromFlags) {
  REQUIRE_CLI();
  const std::string topic = unique_name("stdin");
  BackgroundCommand listener(listen(topic, "--count 3"));
  TempFile lines(
      "{\"priority\": \"error\", \"event_type\": \"one\", \"payload\": {\"n\": 1}, \"publisher_id\": \"svc.a\"}\n"
      "\n"
      "{\"payload\": [1, 2], \"context\": {\"request_id\": \"req-2\"}}\n"
      "{\"priority\": \"warn\", \"publisher_id\": null}\n"
      "not json\n"
      "{\"priority\": \"loud\"}\n");
  CommandResult sent =
      run_command(send(topic, "--publisher-id default.pub --event-type dflt --stdin < " + lines.path()));
  EXPECT_EQ(sent.status, 1) << "two bad lines make the exit status 1";
  EXPECT_NE(sent.err.find("stdin line 5 skipped"), std::string::npos) << sent.err;
  EXPECT_NE(sent.err.find("stdin line 6 skipped: unknown priority"), std::string::npos) << sent.err;
  EXPECT_NE(sent.out.find("sent 3 notification(s)"), std::string::npos) << sent.out;
  CommandResult listened = listener.wait();
  auto docs = json_lines(listened.out);
  ASSERT_EQ(docs.size(), 3u) << listened.out;
  std::map<std::string, const rapidjson::Document*> by_priority;
  for (const auto& doc : docs) by_priority[doc["priority"].GetString()] = &doc;
  ASSERT_EQ(by_priority.size(), 3u);
  EXPECT_STREQ((*by_priority["error"])["publisher_id"].GetString(), "svc.a");
  EXPECT_STREQ((*by_priority["error"])["event_type"].GetString(), "one");
  EXPECT_STREQ((*by_priority["info"])["publisher_id"].GetString(), "default.pub");
  EXPECT_STREQ((*by_priority["info"])["event_type"].GetString(), "dflt");
  EXPECT_STREQ((*by_priority["info"])["context"]["request_id"].GetString(), "req-2");
  EXPECT_TRUE((*by_priority["info"])["payload"].IsArray());
  EXPECT_TRUE((*by_priority["warn"])["publisher_id"].IsNull());
}

TEST(CliTools, SendTakesRetryTimeoutAndWindowFlags) {
  REQUIRE_CLI();
  const std::string topic = unique_name("flags");
  BackgroundCommand listener(listen(topic, "--count 20"));
  CommandResult sent =
      run_command(send(topic,
                       "--publisher-id p --event-type e --payload '{}' --count 20 --retry 3 --send-timeout 5 "
                       "--in-flight-window 4"));
  EXPECT_EQ(sent.status, 0) << sent.out << sent.err;
  EXPECT_NE(sent.out.find("20 confirmed"), std::string::npos) << sent.out;
  EXPECT_EQ(listener.wait().status, 0);
}

TEST(CliTools, SendReportsTheIdsThatFailed) {
  REQUIRE_CLI();
  // A bounded memory:// queue that rejects when full: the third and later sends fail.
  const std::string url = "memory://?max_depth=2&overflow=reject&declare_on_send=true";
  CommandResult sent = run_command(cli_path() + " send --url '" + url +
                                   "' --publisher-id p --event-type e --payload '{}' --count 5 --timeout 5");
  EXPECT_EQ(sent.status, 1) << sent.out << sent.err;
  std::size_t reported = 0;
  for (std::size_t pos = 0; (pos = sent.err.find("herald send: failed ", pos)) != std::string::npos; ++pos) {
    ++reported;
    EXPECT_EQ(sent.err[pos + 20 + 8], '-') << "a message id (uuid) follows: " << sent.err.substr(pos, 80);
  }
  EXPECT_EQ(reported, 3u) << sent.err;
}

TEST(CliTools, PrettyFormatColoursOnlyWhenAsked) {
  REQUIRE_CLI();
  const std::string topic = unique_name("pretty");
  BackgroundCommand plain(listen(topic, "--count 1 --format pretty"));
  BackgroundCommand coloured(listen(topic, "--count 1 --format pretty --color always --pool coloured"));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // both subscribed before the send
  ASSERT_EQ(run_command(send(topic, "--publisher-id p --event-type e --payload '{\"k\": 1}'")).status, 0);
  CommandResult plain_result = plain.wait();
  CommandResult coloured_result = coloured.wait();
  EXPECT_EQ(plain_result.out.find('\033'), std::string::npos) << "stdout is a pipe: no colours by default";
  EXPECT_NE(plain_result.out.find("\"k\": 1"), std::string::npos) << plain_result.out;
  EXPECT_NE(coloured_result.out.find("\033["), std::string::npos) << coloured_result.out;
}

}  // namespace
}  // namespace herald::test
