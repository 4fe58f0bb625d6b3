// DeadLetterQueue on memory://: inspect leaves everything in place and in order (undecodable
// messages included), replay is confirmed before the ack, purge empties; the dead-letter
// queue is never bound to live routing keys; requeued messages keep their order.
#include "transports/transport_driver.hpp"

#include <herald/herald.hpp>

#include <gtest/gtest.h>

#include <set>

using namespace herald;

namespace {

std::string body_of(const std::string& message_id, const std::string& publisher_id, const std::string& event_type,
                    Priority priority = Priority::info) {
  Notification n;
  n.message_id = message_id;
  n.publisher_id = publisher_id;
  n.event_type = event_type;
  n.priority = priority;
  n.unique_id = message_id.substr(0, 8);
  n.set_payload_json(R"({"id": ")" + message_id + R"("})");
  return encode(n, EnvelopeVersion::v2);
}

void send_raw(Transport& transport, const std::string& routing_key, std::string body) {
  detail::OutgoingMessage message;
  message.exchange = "openstack";
  message.routing_key = routing_key;
  message.body = std::move(body);
  std::error_code result = make_error_code(Errc::timeout);
  transport.driver().send(std::move(message), [&](std::error_code ec, std::string_view) { result = ec; });
  ASSERT_FALSE(result) << result.message();
}

// Consumes `count` messages of `queue` and rejects them all: they land in the dead-letter queue.
void dead_letter(Transport& transport, const std::string& queue, std::size_t count) {
  detail::ListenSpec spec;
  spec.bindings.push_back({queue, "openstack", queue});
  auto listener = transport.driver().listen(spec);
  std::size_t rejected = 0;
  while (rejected < count) {
    auto batch = listener->poll(std::chrono::milliseconds(1000), count - rejected);
    ASSERT_FALSE(batch.empty()) << "only " << rejected << " of " << count << " arrived";
    for (auto& message : batch) {
      message->reject();
      ++rejected;
    }
  }
  listener->stop();
}

// Everything a listener on `queue` gets within a short time, acked.
std::vector<std::string> drain(Transport& transport, const std::string& queue, const std::string& routing_key) {
  detail::ListenSpec spec;
  spec.bindings.push_back({queue, routing_key.empty() ? "" : "openstack", routing_key});
  auto listener = transport.driver().listen(spec);
  std::vector<std::string> bodies;
  for (;;) {
    auto batch = listener->poll(std::chrono::milliseconds(50), 100);
    if (batch.empty()) break;
    for (auto& message : batch) {
      bodies.push_back(message->body());
      message->ack();
    }
  }
  listener->stop();
  return bodies;
}

std::vector<std::string> ids_of(const std::vector<DeadLetter>& letters) {
  std::vector<std::string> ids;
  for (const DeadLetter& letter : letters) ids.push_back(letter.message_id.empty() ? letter.body : letter.message_id);
  return ids;
}

class DeadLetters : public ::testing::Test {
 protected:
  // Five dead letters from t.info: a1, b2, "not json", a3, b4 (a*/b* differ in publisher).
  void SetUp() override {
    transport_ = Transport::open("memory://?dead_letter_queue=dlq");
    send_raw(*transport_, "t.info", body_of("a1", "compute.a", "x.start"));
    send_raw(*transport_, "t.info", body_of("b2", "network.b", "y.end"));
    send_raw(*transport_, "t.info", "not json");
    send_raw(*transport_, "t.info", body_of("a3", "compute.a", "x.end"));
    send_raw(*transport_, "t.info", body_of("b4", "network.b", "y.start"));
    dead_letter(*transport_, "t.info", 5);
  }
  std::shared_ptr<Transport> transport_;
  const std::vector<std::string> all_ = {"a1", "b2", "not json", "a3", "b4"};
};

TEST_F(DeadLetters, InspectTwiceShowsTheSameMessagesInTheSameOrderWithTheirOrigin) {
  DeadLetterQueue dlq(transport_);
  EXPECT_EQ(dlq.name(), "dlq");
  auto first = dlq.inspect();
  auto second = dlq.inspect();
  EXPECT_EQ(ids_of(first), all_);
  EXPECT_EQ(ids_of(second), all_);
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first[0].reason, "rejected");
  EXPECT_EQ(first[0].queue, "t.info");
  EXPECT_EQ(first[0].exchange, "openstack");
  EXPECT_EQ(first[0].routing_key, "t.info");
  ASSERT_TRUE(first[0].notification);
  EXPECT_EQ(first[0].notification->publisher_id, "compute.a");
  EXPECT_FALSE(first[2].notification);
  EXPECT_FALSE(first[2].decode_error.empty());
  EXPECT_EQ(first[2].body, "not json");
  EXPECT_EQ(first[2].routing_key, "t.info");
  EXPECT_EQ(dlq.inspect(2).size(), 2u);
  // Nothing was consumed: a plain consumer of the queue still gets all five, in order.
  auto bodies = drain(*transport_, "dlq", "");
  ASSERT_EQ(bodies.size(), 5u);
  EXPECT_EQ(bodies[2], "not json");
}

TEST_F(DeadLetters, ReplayToATopicMovesEveryDecodableMessageAndKeepsTheRest) {
  DeadLetterQueue dlq(transport_);
  auto report = dlq.replay({.to = "replayed.info"});
  EXPECT_EQ(report.examined, 5u);
  EXPECT_EQ(report.replayed, 4u);
  EXPECT_EQ(report.undecodable, 1u);
  EXPECT_EQ(report.failed, 0u);
  EXPECT_EQ(ids_of(dlq.inspect()), std::vector<std::string>{"not json"});
  auto bodies = drain(*transport_, "replayed.info", "replayed.info");
  std::set<std::string> ids;
  for (const std::string& body : bodies) ids.insert(decode(body).message_id);
  EXPECT_EQ(ids, (std::set<std::string>{"a1", "b2", "a3", "b4"}));
}

TEST_F(DeadLetters, ReplayToTheOriginalRoutingKeyWithFiltersAndACount) {
  DeadLetterQueue dlq(transport_);
  ReplayOptions options;
  options.filter.publisher_id(R"(^compute\.)");
  options.max_count = 1;
  auto report = dlq.replay(options);
  EXPECT_EQ(report.replayed, 1u);
  EXPECT_EQ(ids_of(dlq.inspect()), (std::vector<std::string>{"b2", "not json", "a3", "b4"}));

  options.max_count = 0;
  options.filter = Filter{}.event_type(R"(y\.)");
  report = dlq.replay(options);
  EXPECT_EQ(report.replayed, 2u);
  EXPECT_EQ(report.not_matched, 1u);
  EXPECT_EQ(report.undecodable, 1u);
  // What stays keeps its order.
  EXPECT_EQ(ids_of(dlq.inspect()), (std::vector<std::string>{"not json", "a3"}));
  std::vector<std::string> back;
  for (const std::string& body : drain(*transport_, "t.info", "t.info")) back.push_back(decode(body).message_id);
  EXPECT_EQ(back, (std::vector<std::string>{"a1", "b2", "b4"}));
}

TEST_F(DeadLetters, AFailedRepublishLeavesTheMessageInTheQueue) {
  // Nothing routes "none.info" to a queue (declare_on_send would create one): on memory://
  // an unroutable send is confirmed as on RabbitMQ, so fail through overflow instead.
  auto transport = Transport::open("memory://?dead_letter_queue=dlq&max_depth=1&overflow=reject",
                                   {.send_timeout = std::chrono::milliseconds(10)});
  send_raw(*transport, "t.info", body_of("a1", "p", "e"));
  dead_letter(*transport, "t.info", 1);
  send_raw(*transport, "full.info", body_of("f1", "p", "e"));  // full.info now holds its 1
  DeadLetterQueue dlq(transport);
  auto report = dlq.replay({.to = "full.info"});
  EXPECT_EQ(report.replayed, 0u);
  EXPECT_EQ(report.failed, 1u);
  EXPECT_FALSE(report.error.empty());
  EXPECT_EQ(ids_of(dlq.inspect()), std::vector<std::string>{"a1"});
}

TEST_F(DeadLetters, ReplayRejectsADestinationThatIsNotTopicDotPriority) {
  DeadLetterQueue dlq(transport_);
  EXPECT_THROW(dlq.replay({.to = "notifications"}), ConfigError);
  EXPECT_THROW(dlq.replay({.to = "notifications.loud"}), ConfigError);
  EXPECT_EQ(dlq.inspect().size(), 5u);
}

TEST_F(DeadLetters, PurgeEmptiesTheQueue) {
  DeadLetterQueue dlq(transport_);
  EXPECT_EQ(dlq.depth(), 5u);
  EXPECT_EQ(dlq.purge(), 5u);
  EXPECT_EQ(dlq.depth(), 0u);
  EXPECT_TRUE(dlq.inspect().empty());
  EXPECT_EQ(dlq.purge(), 0u);
}

TEST(DeadLetterQueueBinding, APoolNamedLikeTheDeadLetterQueueDoesNotBindIt) {
  auto transport = Transport::open("memory://?dead_letter_queue=dlq&declare_on_send=false");
  std::atomic<int> handled{0};
  Endpoint endpoint{"dlq-reader"};
  endpoint.on(Priority::info, [&](const Notification&) {
    ++handled;
    return Result::handled;
  });
  NotificationServer server(transport, {Target{.topic = "live"}}, {endpoint}, {.pool = "dlq"});
  server.start();
  Notifier notifier(transport, {.publisher_id = "p", .topics = {"live"}});
  notifier.info("{}", "e", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(1)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  server.wait();
  EXPECT_EQ(handled.load(), 0) << "live traffic reached the dead-letter queue";
  EXPECT_TRUE(DeadLetterQueue(transport).inspect().empty());
}

TEST(DeadLetterQueueBinding, ATopicNamedLikeTheDeadLetterQueueDoesNotFillIt) {
  // declare_on_send declares and binds the queue named like the routing key: not this one.
  auto transport = Transport::open("memory://?dead_letter_queue=alerts.error");
  send_raw(*transport, "alerts.error", body_of("x1", "p", "e", Priority::error));
  EXPECT_TRUE(DeadLetterQueue(transport).inspect().empty());
}

TEST(MemoryRequeue, ReleasedMessagesGoBackIntoTheirOldPositions) {
  auto transport = Transport::open("memory://");
  for (int i = 0; i < 5; ++i) send_raw(*transport, "q.info", "m" + std::to_string(i));
  detail::ListenSpec spec;
  spec.bindings.push_back({"q.info", "openstack", "q.info"});
  auto listener = transport->driver().listen(spec);
  auto batch = listener->poll(std::chrono::milliseconds(100), 4);
  ASSERT_EQ(batch.size(), 4u);
  batch[1]->ack();
  batch[0]->requeue();  // released in an order unlike the queue's
  batch[3]->requeue();
  batch[2]->requeue();
  listener->stop();
  EXPECT_EQ(drain(*transport, "q.info", "q.info"), (std::vector<std::string>{"m0", "m2", "m3", "m4"}));
}

}  // namespace
