#include "tests/interop/oslo_checks.hpp"

#include "tests/interop/oslo_support.hpp"

#include <herald/endpoint.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/priority.hpp>
#include <herald/target.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

namespace herald::interop {

namespace {

std::string str(const rapidjson::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<" + to_json(v) + ">";
}

}  // namespace

void expect_sent_context(const rapidjson::Value& ctxt) {
  ASSERT_TRUE(ctxt.IsObject()) << to_json(ctxt);
  auto expected = parse_json(kSanitizedContext);
  for (const auto& m : expected->GetObject()) {
    auto it = ctxt.FindMember(m.name);
    ASSERT_NE(it, ctxt.MemberEnd()) << "context lacks " << m.name.GetString() << ": " << to_json(ctxt);
    EXPECT_EQ(json_diff(m.value, it->value, std::string("$.") + m.name.GetString()), "");
  }
  auto token = ctxt.FindMember("auth_token");
  EXPECT_TRUE(token == ctxt.MemberEnd() || token->value.IsNull()) << "auth_token sent: " << to_json(ctxt);
}

void check_oslo_to_herald(const std::vector<const rapidjson::Document*>& sent,
                          const std::vector<Notification>& received) {
  std::map<std::string, const Notification*> by_id;
  for (const auto& n : received) {
    EXPECT_TRUE(by_id.emplace(n.message_id, &n).second) << "received twice: " << n.message_id;
  }
  EXPECT_EQ(received.size(), sent.size());
  std::size_t failures = 0;
  for (const auto* line : sent) {
    const auto& m = (*line)["message"];
    std::string id = str(m["message_id"]);
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ADD_FAILURE() << "lost: " << id << " " << str(m["priority"]);
      if (++failures > 5) return;
      continue;
    }
    const Notification& n = *it->second;
    EXPECT_EQ(n.publisher_id, m["publisher_id"].IsNull() ? "" : str(m["publisher_id"])) << id;
    EXPECT_EQ(n.event_type, str(m["event_type"])) << id;
    // oslo's priority methods send upper case; its CLI sends lower case.
    EXPECT_EQ(parse_priority(str(m["priority"])), n.priority) << id;
    EXPECT_EQ(parse_priority(str((*line)["priority"])), n.priority) << id;
    EXPECT_EQ(n.timestamp, str(m["timestamp"])) << id;
    EXPECT_EQ(n.unique_id.size(), 32u) << id;
    // Herald re-encodes what it decoded; compare by parsing its text at full precision.
    auto payload = parse_json(n.payload_json());
    auto context = parse_json(n.context_json());
    std::string d1 = json_diff(m["payload"], *payload);
    std::string d2 = json_diff((*line)["ctxt"], *context);
    EXPECT_EQ(d1, "") << id;
    EXPECT_EQ(d2, "") << id;
    if (!d1.empty() || !d2.empty())
      if (++failures > 5) return;
  }
}

void check_herald_to_oslo(const std::vector<Notification>& sent,
                          const std::vector<const rapidjson::Document*>& received) {
  std::map<std::string, const rapidjson::Document*> by_id;
  for (const auto* line : received) {
    std::string id = str((*line)["metadata"]["message_id"]);
    EXPECT_TRUE(by_id.emplace(id, line).second) << "dispatched twice: " << id;
  }
  EXPECT_EQ(received.size(), sent.size());
  auto expected_ctxt = parse_json(kSanitizedContext);
  expected_ctxt->AddMember("client_timeout", rapidjson::Value(), expected_ctxt->GetAllocator());
  std::size_t failures = 0;
  for (const auto& n : sent) {
    auto it = by_id.find(n.message_id);
    if (it == by_id.end()) {
      ADD_FAILURE() << "lost: " << n.message_id << " " << to_string(n.priority);
      if (++failures > 5) return;
      continue;
    }
    const auto& got = *it->second;
    EXPECT_EQ(str(got["method"]), to_string(n.priority)) << n.message_id;
    EXPECT_EQ(str(got["publisher_id"]), n.publisher_id) << n.message_id;
    EXPECT_EQ(str(got["event_type"]), n.event_type) << n.message_id;
    EXPECT_EQ(str(got["metadata"]["timestamp"]), n.timestamp) << n.message_id;
    EXPECT_EQ(got["metadata"].MemberCount(), 2u) << n.message_id;
    const auto& payload = got["payload"];
    ASSERT_TRUE(payload.IsObject() && payload.HasMember("seq")) << to_json(payload);
    auto expected_payload = parse_json(herald_payload_json(payload["seq"].GetInt(), to_string(n.priority)));
    std::string d1 = json_diff(*expected_payload, payload);
    std::string d2 = json_diff(*expected_ctxt, got["ctxt"]);
    EXPECT_EQ(d1, "") << n.message_id;
    EXPECT_EQ(d2, "") << n.message_id;
    if (!d1.empty() || !d2.empty())
      if (++failures > 5) return;
  }
}

void check_oslo_to_oslo(const std::vector<const rapidjson::Document*>& sent,
                        const std::vector<const rapidjson::Document*>& received) {
  std::map<std::string, const rapidjson::Document*> by_id;
  for (const auto* line : received) {
    std::string id = str((*line)["metadata"]["message_id"]);
    EXPECT_TRUE(by_id.emplace(id, line).second) << "dispatched twice: " << id;
  }
  EXPECT_EQ(received.size(), sent.size());
  std::size_t failures = 0;
  for (const auto* line : sent) {
    const auto& m = (*line)["message"];
    std::string id = str(m["message_id"]);
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ADD_FAILURE() << "lost: " << id << " " << str(m["priority"]);
      if (++failures > 5) return;
      continue;
    }
    const auto& got = *it->second;
    EXPECT_EQ(parse_priority(str(got["method"])), parse_priority(str(m["priority"]))) << id;
    EXPECT_EQ(str(got["publisher_id"]), str(m["publisher_id"])) << id;
    EXPECT_EQ(str(got["event_type"]), str(m["event_type"])) << id;
    EXPECT_EQ(str(got["metadata"]["timestamp"]), str(m["timestamp"])) << id;
    EXPECT_EQ(got["metadata"].MemberCount(), 2u) << id;
    // the listener's context is what the sender packed, plus the client_timeout unpack_context adds
    rapidjson::Document expected_ctxt;
    expected_ctxt.CopyFrom((*line)["ctxt"], expected_ctxt.GetAllocator());
    expected_ctxt.AddMember("client_timeout", rapidjson::Value(), expected_ctxt.GetAllocator());
    std::string d1 = json_diff(m["payload"], got["payload"]);
    std::string d2 = json_diff(expected_ctxt, got["ctxt"]);
    EXPECT_EQ(d1, "") << id;
    EXPECT_EQ(d2, "") << id;
    if (!d1.empty() || !d2.empty())
      if (++failures > 5) return;
  }
}

using namespace std::chrono_literals;

void run_oslo_to_herald(const std::string& driver, const std::string& pool, int total,
                        const std::vector<std::string>& extra_args) {
  const std::string exchange = unique_name("x");
  const std::string topic = unique_name("t");
  auto transport = open_transport(exchange);
  Collector got;
  Endpoint endpoint("all");
  endpoint.on(std::span<const Priority>(kAllPriorities), [&](const Notification& n) {
    got.add(n);
    return Result::handled;
  });
  NotificationServer server(transport, {Target{.topic = topic}}, {endpoint}, {.workers = 2, .pool = pool});
  server.start();  // a pooled queue must be bound before oslo sends

  auto args = peer_args("send", exchange, topic);
  args.insert(args.end(), {"--driver", driver, "--total", std::to_string(total), "--ctxt", std::string(kSentContext)});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  PythonPeer peer(args);
  ASSERT_EQ(peer.wait_exit(120s), 0) << "oslo sender failed";
  ASSERT_EQ(peer.count("sent"), static_cast<std::size_t>(total));
  // kSentContext must really travel (oslo >= 15 would drop it if the peer sent a dict)
  if (extra_args.empty())
    for (const auto* line : peer.events("sent")) expect_sent_context((*line)["ctxt"]);
  EXPECT_TRUE(got.wait(total, 60s)) << "received " << got.size() << " of " << total;
  std::this_thread::sleep_for(300ms);  // give duplicates, if any, a chance to show up
  server.stop();
  server.wait();
  check_oslo_to_herald(peer.events("sent"), got.all());
  ServerStats stats = server.stats();
  EXPECT_EQ(stats.dead_lettered, 0u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.handled, static_cast<std::uint64_t>(total));
}

int run_herald_to_oslo(const std::string& driver, const std::string& pool, int total, int batch_size) {
  const std::string exchange = unique_name("x");
  const std::string topic = unique_name("t");
  auto args = peer_args("listen", exchange, topic);
  args.insert(args.end(), {"--count", std::to_string(total), "--timeout", "120"});
  if (!pool.empty()) args.insert(args.end(), {"--pool", pool});
  if (batch_size > 0) args.insert(args.end(), {"--batch-size", std::to_string(batch_size), "--batch-timeout", "1"});
  PythonPeer peer(args);
  EXPECT_TRUE(peer.wait_for("ready", 1, 60s)) << "oslo listener did not start";

  auto transport = open_transport(exchange);
  Notifier notifier(transport, {.publisher_id = "compute.herald-host", .topics = {topic}, .drivers = {driver, "test"}});
  for (int seq = 0; seq < total; ++seq) {
    std::size_t index = batch_size > 0 ? static_cast<std::size_t>(seq) * kPriorityCount / total : seq % kPriorityCount;
    Priority priority = kAllPriorities[index];
    notifier.notify(priority, kSentContext, "compute.instance.update", herald_payload_json(seq, to_string(priority)));
  }
  FlushResult flushed = notifier.flush(60s);
  EXPECT_TRUE(flushed.ok()) << "pending " << flushed.pending << " failed " << flushed.failed << " "
                            << flushed.last_error.message();
  EXPECT_TRUE(peer.wait_for("msg", total, 90s)) << "oslo dispatched " << peer.count("msg") << " of " << total;
  EXPECT_EQ(peer.wait_exit(60s), 0) << "oslo listener failed";
  auto received = peer.events("msg");
  check_herald_to_oslo(notifier.capture()->notifications(), received);
  int largest = 0;
  for (const auto* line : received)
    if (line->HasMember("batch")) largest = std::max(largest, (*line)["batch"].GetInt());
  return largest;
}

void run_oslo_to_oslo(int total, const std::vector<std::string>& queue_flags) {
  const std::string exchange = unique_name("x");
  const std::string topic = unique_name("t");
  auto listen_args = peer_args_without_queue_flags("listen", exchange, topic);
  listen_args.insert(listen_args.end(), {"--count", std::to_string(total), "--timeout", "120"});
  listen_args.insert(listen_args.end(), queue_flags.begin(), queue_flags.end());
  PythonPeer listener(listen_args);
  ASSERT_TRUE(listener.wait_for("ready", 1, 60s)) << "oslo listener did not start";

  auto send_args = peer_args_without_queue_flags("send", exchange, topic);
  send_args.insert(send_args.end(), {"--total", std::to_string(total), "--ctxt", std::string(kSentContext)});
  send_args.insert(send_args.end(), queue_flags.begin(), queue_flags.end());
  PythonPeer sender(send_args);
  ASSERT_EQ(sender.wait_exit(120s), 0) << "oslo sender failed";
  ASSERT_EQ(sender.count("sent"), static_cast<std::size_t>(total));
  for (const auto* line : sender.events("sent")) expect_sent_context((*line)["ctxt"]);
  for (const auto* line : sender.events("done"))
    if (line->HasMember("oslo_messaging")) std::printf("oslo.messaging %s\n", str((*line)["oslo_messaging"]).c_str());
  EXPECT_TRUE(listener.wait_for("msg", total, 90s)) << "oslo dispatched " << listener.count("msg") << " of " << total;
  EXPECT_EQ(listener.wait_exit(60s), 0) << "oslo listener failed";
  check_oslo_to_oslo(sender.events("sent"), listener.events("msg"));
}

}  // namespace herald::interop
