// herald route's routes file: a full file parses into targets, server settings, filters and
// actions; every mistake fails with the file, the line and the field.
#include "tools/route/route_config.hpp"

#include <herald/error.hpp>

#include <gtest/gtest.h>

using namespace herald;
using namespace herald::route;

namespace {

constexpr const char* kFull = R"(transport_url: amqp://guest:guest@127.0.0.1:5672/
targets:
  - topic: notifications
  - topic: audit
    exchange: nova
pool: router
workers: 3
allow_requeue: true
max_redeliveries: 2
endpoints:
  - name: instances
    priorities: [info, error]
    filter:
      publisher_id: '^compute\.'
      event_type: '^compute\.instance\.'
      context: {user_id: '^u-'}
      metadata: {message_id: '.'}
      payload: {state: '^active$'}
    file: {path: /tmp/x.jsonl, max_bytes: 2048, keep: 3}
  - name: alerts
    priorities: critical
    webhook: {url: 'http://127.0.0.1:8080/hook', connect_timeout: 0.5, timeout: 2}
  - name: forward
    republish: {topic: billing, priority: warn, exchange: other, timeout: 3}
  - name: trace
    log:
)";

// The message of the ConfigError `yaml` raises.
std::string error_of(const std::string& yaml) {
  try {
    parse_route_config(yaml, "routes.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RouteConfig, ParsesAFullFile) {
  RouteConfig config = parse_route_config(kFull, "routes.yaml");
  EXPECT_EQ(config.transport_url, "amqp://guest:guest@127.0.0.1:5672/");
  EXPECT_EQ(config.transport_url_line, 1);
  ASSERT_EQ(config.targets.size(), 2u);
  EXPECT_EQ(config.targets[1].topic, "audit");
  EXPECT_EQ(config.targets[1].exchange, "nova");
  EXPECT_EQ(config.pool, "router");
  EXPECT_EQ(config.workers, 3u);
  EXPECT_EQ(config.max_redeliveries, 2u);
  ASSERT_EQ(config.endpoints.size(), 4u);

  const EndpointConfig& file = config.endpoints[0];
  EXPECT_EQ(file.name, "instances");
  EXPECT_EQ(file.line, 11);
  EXPECT_EQ(file.priorities, (std::vector<Priority>{Priority::info, Priority::error}));
  ASSERT_TRUE(std::holds_alternative<FileAction>(file.action));
  EXPECT_EQ(std::get<FileAction>(file.action).max_bytes, 2048u);
  EXPECT_EQ(std::get<FileAction>(file.action).keep, 3u);
  EXPECT_FALSE(file.filter.empty());

  const auto& webhook = std::get<WebhookAction>(config.endpoints[1].action);
  EXPECT_EQ(webhook.connect_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(webhook.timeout, std::chrono::seconds(2));
  EXPECT_EQ(config.endpoints[1].priorities, std::vector<Priority>{Priority::critical});

  const auto& republish = std::get<RepublishAction>(config.endpoints[2].action);
  EXPECT_EQ(republish.topic, "billing");
  EXPECT_EQ(republish.exchange, "other");
  EXPECT_EQ(republish.priority, Priority::warn);
  EXPECT_EQ(config.endpoints[2].priorities.size(), kPriorityCount) << "no priorities: all seven";

  EXPECT_EQ(std::get<LogAction>(config.endpoints[3].action).level, "info");
  EXPECT_EQ(config.priorities().size(), kPriorityCount);
}

TEST(RouteConfig, DefaultsWithOneEndpoint) {
  RouteConfig config = parse_route_config("endpoints:\n  - name: a\n    log: {level: warn}\n", "r.yaml");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].topic, "notifications");
  EXPECT_TRUE(config.pool.empty());
  EXPECT_TRUE(config.allow_requeue);
  EXPECT_EQ(std::get<LogAction>(config.endpoints[0].action).level, "warning");
  EXPECT_TRUE(config.endpoints[0].filter.empty());
}

TEST(RouteConfig, FilterRulesUseTheLibrarySemantics) {
  RouteConfig config = parse_route_config(kFull, "routes.yaml");
  const Filter& filter = config.endpoints[0].filter;
  Notification n;
  n.publisher_id = "compute.host1";
  n.event_type = "compute.instance.create.end";
  n.message_id = "m-1";
  n.set_context_json(R"({"user_id": "u-42"})");
  n.set_payload_json(R"({"state": "active"})");
  EXPECT_TRUE(filter.matches(n));
  n.set_payload_json(R"({"state": "active-ish"})");
  EXPECT_FALSE(filter.matches(n)) << "payload.state is anchored with $";
  n.set_payload_json(R"({"state": "active"})");
  n.publisher_id = "network.host1";
  EXPECT_FALSE(filter.matches(n));
  n.publisher_id = "compute.host1";
  n.set_context_json(R"({"user_id": "admin"})");
  EXPECT_FALSE(filter.matches(n));
  n.set_context_json(R"({})");
  EXPECT_FALSE(filter.matches(n)) << "a missing context key never matches";
}

TEST(RouteConfig, ErrorsNameFileLineAndField) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"endpoints:\n  - name: a\n    file: {path: /tmp/a, max_bytes: big}\n",
       "routes.yaml:3: endpoints[0].file.max_bytes: expected an integer in [1024, "},
      {"endpoints:\n  - name: a\n    log:\n  - name: b\n    webhook: {url: 'https://x/'}\n",
       "routes.yaml:5: endpoints[1].webhook.url: expected an http:// URL (https is not supported)"},
      {"endpoints:\n  - name: a\n    log:\n    file: {path: /tmp/a}\n",
       "routes.yaml:4: endpoints[0]: exactly one action"},
      {"endpoints:\n  - name: a\n    filter: {event_type: 'a'}\n",
       "routes.yaml:2: endpoints[0]: an action is required"},
      {"endpoints:\n  - name: a\n    filter:\n      event_typ: 'x'\n    log:\n",
       "routes.yaml:4: endpoints[0].filter.event_typ: unknown key"},
      {"endpoints:\n  - name: a\n    filter:\n      event_type: '(x'\n    log:\n",
       "routes.yaml:4: endpoints[0].filter.event_type: filter.event_type: invalid regex '(x'"},
      {"endpoints:\n  - name: a\n    filter:\n      payload: {k: '(?=x)'}\n    log:\n",
       "routes.yaml:4: endpoints[0].filter.payload.k: "},
      {"endpoints:\n  - name: a\n    filter:\n      metadata: {publisher: 'x'}\n    log:\n",
       "routes.yaml:4: endpoints[0].filter.metadata.publisher: metadata keys are message_id and timestamp"},
      {"endpoints:\n  - name: a\n    priorities: [info, loud]\n    log:\n",
       "routes.yaml:3: endpoints[0].priorities[1]: unknown priority 'loud'"},
      {"workers: 0\nendpoints:\n  - name: a\n    log:\n", "routes.yaml:1: workers: expected an integer in [1, 1024]"},
      {"endpoints:\n  - name: a\n    log:\n  - name: a\n    log:\n",
       "routes.yaml:4: endpoints[1].name: duplicate endpoint name 'a'"},
      {"endpoints:\n  - name: a\n    republish: {priority: info}\n",
       "routes.yaml:3: endpoints[0].republish.topic: required"},
      {"endpoints:\n  - name: a\n    webhook: {url: 'http://h/', timeout: -1}\n",
       "routes.yaml:3: endpoints[0].webhook.timeout: expected seconds in (0, 86400]"},
      {"targets: []\nendpoints:\n  - name: a\n    log:\n", "routes.yaml:1: targets: expected a non-empty list"},
      {"pool: p\n", "routes.yaml:1: endpoints: required"},
      {"endpoints:\n  - name: a\n    log: {level: loud}\n", "routes.yaml:3: endpoints[0].log.level: expected debug"},
      {"endpoint:\n  - name: a\n", "routes.yaml:1: endpoint: unknown key"},
      {"endpoints:\n  - name: [a\n", "routes.yaml:3: YAML: "},
  };
  for (const Case& c : cases) {
    const std::string error = error_of(c.yaml);
    EXPECT_NE(error.find(c.expected), std::string::npos) << "YAML:\n" << c.yaml << "\nerror: " << error;
  }
}

TEST(RouteConfig, UnreadableFileIsAnError) {
  try {
    load_route_config("/nonexistent/routes.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/routes.yaml: cannot read"), std::string::npos) << e.what();
  }
}

}  // namespace
