// The RabbitMQ 4 parts of the amqp driver that need no broker: v2 addresses, version
// detection, queue specs from options, the management channel's hand-over between the
// declaring thread and the I/O thread, the request encoding, and how answers become errors.

#include "transports/amqp/amqp_management.hpp"
#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/topology.hpp"

#include <herald/error.hpp>

#include <gtest/gtest.h>
#include <proton/codec/map.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>

#include <atomic>
#include <thread>

namespace herald::detail {
namespace {

using namespace std::chrono_literals;

TEST(AmqpV2Address, ExchangeAndQueueAddressesArePercentEncoded) {
  EXPECT_EQ(v2_address("/exchange/openstack/notifications.info"), "/exchanges/openstack/notifications.info");
  EXPECT_EQ(v2_address("/exchange/my x/a/b"), "/exchanges/my%20x/a%2Fb");
  EXPECT_EQ(v2_address("/exchange/x"), "/exchanges/x");
  EXPECT_EQ(v2_address("/amq/queue/notifications.info"), "/queues/notifications.info");
  EXPECT_EQ(v2_address("/amq/queue/a/b"), "/queues/a%2Fb");
  EXPECT_EQ(v2_address("/queues/already"), "/queues/already");
}

TEST(AmqpV2Address, RabbitMq4AndLaterAreV2) {
  EXPECT_TRUE(is_rabbitmq_v2("RabbitMQ", "4.0.5"));
  EXPECT_TRUE(is_rabbitmq_v2("RabbitMQ", "4.1.0"));
  EXPECT_TRUE(is_rabbitmq_v2("RabbitMQ", "10.0.0"));
  EXPECT_FALSE(is_rabbitmq_v2("RabbitMQ", "3.10.8"));
  EXPECT_FALSE(is_rabbitmq_v2("RabbitMQ", "3.13.7"));
  EXPECT_FALSE(is_rabbitmq_v2("qpidd", "4.0.0"));
  EXPECT_FALSE(is_rabbitmq_v2("", ""));
}

AmqpOptions options_from(const std::string& query) {
  return parse_amqp_options(TransportUrl::parse("amqp://h/" + query), {});
}

TEST(AmqpQueueSpec, ClassicQueuesAreTransientUnlessDurableIsAsked) {
  QueueSpec spec = notification_queue_spec(options_from(""));
  EXPECT_FALSE(spec.durable);
  EXPECT_TRUE(spec.arguments.empty());
  EXPECT_TRUE(notification_queue_spec(options_from("?amqp_durable_queues=true")).durable);
}

TEST(AmqpQueueSpec, QuorumQueuesAreDurableWithOslosArguments) {
  QueueSpec spec = notification_queue_spec(
      options_from("?rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=7&rabbit_quorum_max_memory_length=100"
                   "&rabbit_quorum_max_memory_bytes=2048"));
  EXPECT_TRUE(spec.durable);
  EXPECT_EQ(spec.arguments.at("x-queue-type"), QueueArgument(std::string("quorum")));
  EXPECT_EQ(spec.arguments.at("x-delivery-limit"), QueueArgument(std::int64_t{7}));
  EXPECT_EQ(spec.arguments.at("x-max-in-memory-length"), QueueArgument(std::int64_t{100}));
  EXPECT_EQ(spec.arguments.at("x-max-in-memory-bytes"), QueueArgument(std::int64_t{2048}));
}

TEST(AmqpQueueSpec, DeadLetteringOnQuorumQueuesIsAtLeastOnce) {
  QueueSpec spec = notification_queue_spec(options_from("?rabbit_quorum_queue=true&dead_letter_exchange=dlx"));
  EXPECT_EQ(spec.arguments.at("x-dead-letter-exchange"), QueueArgument(std::string("dlx")));
  EXPECT_EQ(spec.arguments.at("x-dead-letter-strategy"), QueueArgument(std::string("at-least-once")));
  EXPECT_EQ(spec.arguments.at("x-overflow"), QueueArgument(std::string("reject-publish")));
  QueueSpec dead_letters = dead_letter_queue_spec(options_from("?rabbit_quorum_queue=true&dead_letter_exchange=dlx"));
  EXPECT_TRUE(dead_letters.durable);
  EXPECT_EQ(dead_letters.arguments.size(), 1u);  // quorum, and no dead-lettering of its own

  QueueSpec classic = notification_queue_spec(options_from("?dead_letter_exchange=dlx"));
  EXPECT_FALSE(classic.arguments.contains("x-dead-letter-strategy"));
}

TEST(AmqpQueueSpec, MaxLengthAndOverflow) {
  QueueSpec spec =
      notification_queue_spec(options_from("?max_length=10&max_length_bytes=4096&queue_overflow=reject-publish"));
  EXPECT_EQ(spec.arguments.at("x-max-length"), QueueArgument(std::int64_t{10}));
  EXPECT_EQ(spec.arguments.at("x-max-length-bytes"), QueueArgument(std::int64_t{4096}));
  EXPECT_EQ(spec.arguments.at("x-overflow"), QueueArgument(std::string("reject-publish")));
  EXPECT_THROW(options_from("?queue_overflow=sometimes"), ConfigError);
  EXPECT_THROW(options_from("?address_format=v3"), ConfigError);
  EXPECT_EQ(options_from("?address_format=v2").address_format, AddressFormat::v2);
}

TEST(AmqpManagementEncoding, RequestCarriesMethodPathReplyToAndAMapBody) {
  ManagementRequest request{42, "PUT", "/queues/q1", {{"durable", true}, {"arguments", QueueArguments{}}}};
  std::get<QueueArguments>(request.body["arguments"])["x-queue-type"] = std::string("quorum");
  proton::message message;
  encode_management_request(request, message);
  EXPECT_EQ(message.to(), "/queues/q1");
  EXPECT_EQ(message.subject(), "PUT");
  EXPECT_EQ(message.reply_to(), "$me");
  EXPECT_EQ(proton::get<std::uint64_t>(message.id()), 42u);
  std::map<std::string, proton::value> body;
  proton::get(message.body(), body);
  EXPECT_EQ(proton::get<bool>(body.at("durable")), true);
  std::map<std::string, proton::value> arguments;
  proton::get(body.at("arguments"), arguments);
  EXPECT_EQ(proton::get<std::string>(arguments.at("x-queue-type")), "quorum");
}

TEST(AmqpManagementEncoding, ResponseGivesStatusTextAndCorrelation) {
  proton::message message;
  message.subject("409");
  message.correlation_id(proton::message_id(std::uint64_t{7}));
  message.body(std::string("inequivalent arg 'x-queue-type'"));
  ManagementResponse response;
  EXPECT_EQ(decode_management_response(message, response), 7u);
  EXPECT_TRUE(response.answered);
  EXPECT_FALSE(response.ok());
  EXPECT_EQ(response.status, "409");
  EXPECT_EQ(response.text, "inequivalent arg 'x-queue-type'");
}

// Plays the I/O thread: answers every request with `status` and `text`.
class FakeNode {
 public:
  FakeNode(std::shared_ptr<ManagementChannel> channel, std::string status, std::string text)
      : channel_(std::move(channel)), status_(std::move(status)), text_(std::move(text)) {
    channel_->set_wake([this] {
      std::thread([this] {
        while (auto request = channel_->take_unsent()) {
          paths.push_back(request->method + " " + request->path);
          channel_->answer(request->id, {true, status_, text_, {}});
        }
      }).join();
      return true;
    });
  }
  std::vector<std::string> paths;

 private:
  std::shared_ptr<ManagementChannel> channel_;
  std::string status_, text_;
};

TEST(AmqpManagementSink, SuccessfulDeclarationsUseThePathsOfTheManagementNode) {
  auto channel = std::make_shared<ManagementChannel>();
  FakeNode node(channel, "201", "");
  AmqpManagementSink sink(channel, 1s);
  sink.declare_exchange("openstack", "topic", true);
  sink.declare_queue("notifications.info", {.durable = true});
  sink.bind_queue("openstack", "notifications.info", "notifications.info");
  EXPECT_EQ(node.paths,
            (std::vector<std::string>{"PUT /exchanges/openstack", "PUT /queues/notifications.info", "POST /bindings"}));
}

TEST(AmqpManagementSink, AMismatchIsAPreconditionFailureShowingTheBrokersText) {
  auto channel = std::make_shared<ManagementChannel>();
  FakeNode node(
      channel, "409",
      "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'classic' but current is 'quorum'");
  AmqpManagementSink sink(channel, 1s);
  try {
    sink.declare_queue("q", {.durable = true});
    FAIL() << "no error";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), make_error_code(Errc::precondition_failed));
    EXPECT_NE(std::string(e.what()).find("received 'classic' but current is 'quorum'"), std::string::npos) << e.what();
  }
}

TEST(AmqpManagementSink, ADeniedDeprecatedFeatureNamesTheOptionToSet) {
  auto channel = std::make_shared<ManagementChannel>();
  FakeNode node(channel, "400", "Feature `transient_nonexcl_queues` is deprecated.\nBy default, ...");
  AmqpManagementSink sink(channel, 1s);
  try {
    sink.declare_queue("q", {});
    FAIL() << "no error";
  } catch (const TransportError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("transient_nonexcl_queues"), std::string::npos) << what;
    EXPECT_NE(what.find("amqp_durable_queues=true"), std::string::npos) << what;
    EXPECT_EQ(what.find("By default"), std::string::npos) << what;
  }
}

TEST(AmqpManagementChannel, NoAnswerIsUnreachableAfterTheTimeout) {
  auto channel = std::make_shared<ManagementChannel>();
  channel->set_wake([] { return true; });  // an I/O thread that never sends
  AmqpManagementSink sink(channel, 50ms);
  auto start = std::chrono::steady_clock::now();
  try {
    sink.declare_exchange("x", "topic", false);
    FAIL() << "no error";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), make_error_code(Errc::unreachable));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_FALSE(channel->take_unsent().has_value());  // the timed-out request is gone
}

TEST(AmqpManagementChannel, ALostConnectionFailsWhatIsOnTheWireAndCloseFailsTheRest) {
  auto channel = std::make_shared<ManagementChannel>();
  channel->set_wake([] { return true; });
  std::atomic<int> answered{0};
  ManagementResponse first, second;
  std::thread a([&] {
    first = channel->request({0, "PUT", "/queues/a", {}}, 5s);
    ++answered;
  });
  while (!channel->take_unsent()) std::this_thread::sleep_for(1ms);  // now in flight
  channel->fail_in_flight("connection lost");
  a.join();
  EXPECT_FALSE(first.answered);
  EXPECT_EQ(first.error, "connection lost");
  std::thread b([&] {
    second = channel->request({0, "PUT", "/queues/b", {}}, 5s);
    ++answered;
  });
  std::this_thread::sleep_for(20ms);
  channel->close();
  b.join();
  EXPECT_EQ(second.error, "transport closed");
  EXPECT_EQ(channel->request({0, "GET", "/queues/c", {}}, 5s).error, "transport closed");
}

TEST(AmqpBrokerAwareSink, RefusedCredentialsAreReportedWithoutWaitingForTheTimeout) {
  auto channel = std::make_shared<ManagementChannel>();
  BrokerAwareSink sink(channel, nullptr, nullptr, std::nullopt, 10s);
  channel->set_failure(Errc::unauthorized, "authentication failed for user 'guest'");
  auto start = std::chrono::steady_clock::now();
  try {
    sink.declare_exchange("x", "topic", false);
    FAIL() << "no error";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), make_error_code(Errc::unauthorized));
    EXPECT_NE(std::string(e.what()).find("authentication failed"), std::string::npos);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace herald::detail
