// herald::topology_definitions: the definitions document for rabbitmqctl import_definitions.
#include <herald/herald.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

using namespace herald;

namespace {

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError());
  return d;
}

std::set<std::string> names(const rapidjson::Value& list, const char* key) {
  std::set<std::string> out;
  for (const auto& item : list.GetArray()) out.insert(item[key].GetString());
  return out;
}

TEST(TopologyExport, WithoutPoolOneQueuePerTopicPriorityLikeOslo) {
  TopologySpec spec;
  spec.priorities = {Priority::info, Priority::error};
  auto d = parse(topology_definitions("amqp://guest:guest@127.0.0.1:5672/", spec));
  EXPECT_EQ(names(d["exchanges"], "name"), (std::set<std::string>{"openstack"}));
  EXPECT_EQ(std::string(d["exchanges"][0]["type"].GetString()), "topic");
  EXPECT_EQ(names(d["queues"], "name"), (std::set<std::string>{"notifications.info", "notifications.error"}));
  for (const auto& q : d["queues"].GetArray()) {
    EXPECT_FALSE(q["durable"].GetBool());       // oslo's default: amqp_durable_queues=false
    EXPECT_TRUE(q["arguments"].ObjectEmpty());  // no arguments, or oslo's declare fails
    EXPECT_EQ(std::string(q["vhost"].GetString()), "/");
  }
  ASSERT_EQ(d["bindings"].Size(), 2u);
  for (const auto& b : d["bindings"].GetArray())
    EXPECT_EQ(std::string(b["destination"].GetString()), std::string(b["routing_key"].GetString()));
}

TEST(TopologyExport, PoolIsOneQueueBoundToEveryRoutingKeyOfEveryTopic) {
  TopologySpec spec;
  spec.targets = {Target{"a", ""}, Target{"b", "nova"}};
  spec.priorities = {Priority::info, Priority::warn};
  spec.pool = "billing";
  auto d = parse(topology_definitions("amqp://h:5672/vh?amqp_durable_queues=true", spec));
  EXPECT_EQ(names(d["exchanges"], "name"), (std::set<std::string>{"openstack", "nova"}));
  EXPECT_EQ(names(d["queues"], "name"), (std::set<std::string>{"billing"}));
  EXPECT_TRUE(d["queues"][0]["durable"].GetBool());
  EXPECT_EQ(std::string(d["queues"][0]["vhost"].GetString()), "vh");
  EXPECT_EQ(names(d["bindings"], "routing_key"), (std::set<std::string>{"a.info", "a.warn", "b.info", "b.warn"}));
}

TEST(TopologyExport, DeadLetterExchangeIsOptIn) {
  TopologySpec spec;
  spec.priorities = {Priority::info};
  auto d = parse(topology_definitions("amqp://h/?dead_letter_exchange=dlx&dead_letter_queue=dead", spec));
  EXPECT_EQ(names(d["queues"], "name"), (std::set<std::string>{"dead", "notifications.info"}));
  for (const auto& q : d["queues"].GetArray())
    if (std::string(q["name"].GetString()) == "notifications.info")
      EXPECT_EQ(std::string(q["arguments"]["x-dead-letter-exchange"].GetString()), "dlx");
}

TEST(TopologyExport, BadInputFailsNamingIt) {
  EXPECT_THROW(topology_definitions("memory://", {}), ConfigError);
  EXPECT_THROW(topology_definitions("amqp://h/?no_such_option=1", {}), ConfigError);
  TopologySpec empty_topic;
  empty_topic.targets = {Target{"", ""}};
  EXPECT_THROW(topology_definitions("amqp://h/", empty_topic), ConfigError);
}

}  // namespace
