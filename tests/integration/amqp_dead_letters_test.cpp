// herald dlq against RabbitMQ 3.10: inspect twice shows the same messages in the same order
// (an undecodable one included), replay empties the dead-letter queue into the live queue with
// nothing lost, purge empties it; messages left by a filtered replay keep their order.
#include "tests/integration/amqp_support.hpp"

#include <herald/codec.hpp>
#include <herald/dead_letters.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

std::string cli() { return HERALD_CLI_PATH; }

std::string body_of(const std::string& id, const std::string& publisher_id) {
  Notification n;
  n.message_id = id;
  n.publisher_id = publisher_id;
  n.event_type = "dlq.test";
  n.unique_id = id;
  n.set_payload_json(R"({"id": ")" + id + R"("})");
  return encode(n, EnvelopeVersion::v2);
}

// Runs a shell command; returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {-1, {}};
  std::string out;
  char buffer[65536];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = ::pclose(pipe);
  return {WEXITSTATUS(status), out};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  return lines;
}

// A topic whose queue dead-letters into its own exchange and queue, filled with `count`
// notifications (ids "<i>", publishers alternating "even"/"odd") plus one undecodable body
// after the first, all rejected into the dead-letter queue.
class AmqpDeadLetters : public ::testing::Test {
 protected:
  void SetUp() override {
    dlx_ = unique_name("dlx");
    url_ = broker_url("?dead_letter_exchange=" + dlx_);
    key_ = unique_name("live") + ".info";
    transport_ = Transport::open(url_);
  }

  void fill(std::size_t count) {
    auto listener = transport_->driver().listen({{{key_, "openstack", key_}}, 1000});
    SendTracker sent;
    for (std::size_t i = 0; i < count; ++i) {
      transport_->driver().send(
          message("openstack", key_, body_of(std::to_string(i), i % 2 ? "odd" : "even"), std::to_string(i)),
          sent.callback());
      if (i == 0)
        transport_->driver().send(message("openstack", key_, "not json \xff", "undecodable"), sent.callback());
    }
    ASSERT_TRUE(sent.wait(count + 1, 30s));
    ASSERT_EQ(sent.failed(), 0u);
    std::size_t rejected = 0;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (rejected < count + 1 && std::chrono::steady_clock::now() < deadline)
      for (auto& incoming : listener->poll(500ms, 1000)) {
        incoming->reject();
        ++rejected;
      }
    ASSERT_EQ(rejected, count + 1);
    listener->stop();
    // Dead-lettering is asynchronous: wait until the queue holds all of them.
    DeadLetterQueue dlq(transport_);
    deadline = std::chrono::steady_clock::now() + 20s;
    while (dlq.inspect().size() < count + 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100ms);
    ASSERT_EQ(dlq.inspect().size(), count + 1);
    EXPECT_EQ(dlq.depth(), count + 1);
  }

  std::string dlq_cli(const std::string& args) { return cli() + " dlq " + args + " --url '" + url_ + "'"; }

  std::string dlx_, url_, key_;
  std::shared_ptr<Transport> transport_;
};

TEST_F(AmqpDeadLetters, InspectTwiceShowsTheSameMessagesInTheSameOrder) {
  if (cli().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  fill(50);
  auto [status1, first] = run(dlq_cli("inspect"));
  auto [status2, second] = run(dlq_cli("inspect"));
  ASSERT_EQ(status1, 0);
  ASSERT_EQ(status2, 0);
  EXPECT_EQ(first, second);
  auto lines = lines_of(first);
  ASSERT_EQ(lines.size(), 51u);
  std::vector<std::string> ids;
  for (const std::string& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    ASSERT_FALSE(doc.HasParseError()) << line;
    EXPECT_STREQ(doc["reason"].GetString(), "rejected") << line;
    EXPECT_EQ(doc["queue"].GetString(), key_) << line;
    EXPECT_EQ(doc["routing_key"].GetString(), key_) << line;
    EXPECT_STREQ(doc["exchange"].GetString(), "openstack") << line;
    EXPECT_FALSE(doc.HasMember("payload")) << "payload shown without --payload: " << line;
    ids.push_back(doc["decodable"].GetBool() ? doc["message_id"].GetString() : "undecodable");
  }
  // The order they were published in (the undecodable one was second).
  std::vector<std::string> expected = {"0", "undecodable"};
  for (int i = 1; i < 50; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(ids, expected);

  auto [status3, with_payload] = run(dlq_cli("inspect --payload --count 2"));
  ASSERT_EQ(status3, 0);
  auto two = lines_of(with_payload);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two[0].find(R"("payload":{"id":"0"})"), std::string::npos) << two[0];
  EXPECT_NE(two[1].find(R"("body_base64":)"), std::string::npos) << two[1];
}

TEST_F(AmqpDeadLetters, ReplayEmptiesTheQueueIntoTheLiveQueueWithNothingLostThenPurge) {
  if (cli().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const std::size_t count = 500;
  fill(count);
  auto [status, summary] = run(dlq_cli("replay --original --idle 3"));
  EXPECT_EQ(status, 0) << summary;
  rapidjson::Document report;
  report.Parse(summary.c_str());
  ASSERT_FALSE(report.HasParseError()) << summary;
  EXPECT_EQ(report["replayed"].GetUint64(), count) << summary;
  EXPECT_EQ(report["undecodable"].GetUint64(), 1u) << summary;
  EXPECT_EQ(report["failed"].GetUint64(), 0u) << summary;

  auto live = transport_->driver().listen({{{key_, "openstack", key_}}, 1000});
  std::set<std::string> ids;
  for (const std::string& body : receive_and_ack(*live, count, 30s)) ids.insert(decode(body).message_id);
  live->stop();
  EXPECT_EQ(ids.size(), count) << "lost or duplicated notifications in the replay";

  DeadLetterQueue dlq(transport_);
  auto left = dlq.inspect();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_FALSE(left[0].notification);  // the undecodable one survived, untouched
  EXPECT_EQ(left[0].body, "not json \xff");

  auto [purge_refused, ignored] = run(dlq_cli("purge") + " 2>/dev/null");
  EXPECT_NE(purge_refused, 0) << "purge without --yes";
  EXPECT_EQ(dlq.inspect().size(), 1u);
  auto [purged, ignored2] = run(dlq_cli("purge --yes"));
  EXPECT_EQ(purged, 0);
  EXPECT_TRUE(dlq.inspect().empty());
}

TEST_F(AmqpDeadLetters, AFilteredReplayToAnotherTopicKeepsTheRestInOrder) {
  fill(20);
  const std::string other = unique_name("other") + ".info";
  auto target = transport_->driver().listen({{{other, "openstack", other}}, 100});  // declares and binds it
  DeadLetterQueue dlq(transport_);
  ReplayOptions options;
  options.to = other;
  options.filter.publisher_id("^even$");
  options.idle_timeout = 3s;
  ReplayReport report = dlq.replay(options);
  EXPECT_EQ(report.replayed, 10u);
  EXPECT_EQ(report.not_matched, 10u);
  EXPECT_EQ(report.undecodable, 1u);
  std::vector<std::string> left;
  for (const DeadLetter& letter : dlq.inspect()) left.push_back(letter.notification ? letter.message_id : "x");
  std::vector<std::string> expected = {"x"};
  for (int i = 1; i < 20; i += 2) expected.push_back(std::to_string(i));
  EXPECT_EQ(left, expected);
  EXPECT_EQ(receive_and_ack(*target, 10, 10s).size(), 10u);
  target->stop();
}

// The alternative design (docs/operations.md): take everything over AMQP 1.0 without settling,
// then release. RabbitMQ puts each message back in its old place, whatever the release order.
TEST_F(AmqpDeadLetters, ReleasedAmqp10DeliveriesGoBackInTheirOldOrder) {
  fill(30);
  DeadLetterQueue dlq(transport_);
  std::vector<std::string> before;
  for (const DeadLetter& letter : dlq.inspect()) before.push_back(letter.body);
  auto listener = transport_->driver().listen({{{dlq.name(), "", ""}}, 31});
  detail::IncomingBatch held;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (held.size() < 31 && std::chrono::steady_clock::now() < deadline)
    for (auto& incoming : listener->poll(200ms, 31 - held.size())) held.push_back(std::move(incoming));
  ASSERT_EQ(held.size(), 31u);
  for (auto it = held.rbegin(); it != held.rend(); ++it) (*it)->requeue();  // newest first
  held.clear();
  listener->stop();
  std::vector<std::string> after;
  for (const DeadLetter& letter : dlq.inspect()) after.push_back(letter.body);
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace herald::test
