// Issue 9 item 5: scale-out on a three-node RabbitMQ cluster with quorum queues. A Notifier and a
// NotificationServer (public API, each on its own transport) name all three nodes in the URL's
// host list; during a 20,000-notification stream one node is killed with SIGKILL and started
// again in the background. Nothing confirmed may be lost and the queue must drain.
//
// Needs a running cluster whose node 1 listens on RMQ_PORT (label cluster):
//   RMQ_VERSION=4 RMQ_PORT=5720 scripts/rabbitmq cluster-start
//   RMQ_VERSION=4 RMQ_PORT=5720 ctest --test-dir build -L cluster
#include "tests/integration/cluster_support.hpp"
#include "tests/integration/fault_support.hpp"

#include <herald/endpoint.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/target.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kCount = 20'000;
constexpr double kPerSecond = 1'000;
constexpr std::size_t kKillAfterConfirmed = 5'000;
constexpr const char* kEventPrefix = "cluster.seq.";

// The sequence number travels in the event type, because a SendFailure names the event type
// but not the payload.
std::optional<std::size_t> seq_of_event(const std::string& event_type) {
  if (event_type.rfind(kEventPrefix, 0) != 0) return std::nullopt;
  try {
    return static_cast<std::size_t>(std::stoull(event_type.substr(std::string(kEventPrefix).size())));
  } catch (...) {
    return std::nullopt;
  }
}

// Which node the test kills.
enum class Victim { connected_node, queue_leader };

// Deletes the test's queue and exchange through a node that is up, whatever the test's outcome.
struct ClusterObjects {
  std::string exchange;
  std::string queue;
  ~ClusterObjects() {
    int node = live_node();
    if (!node) return;
    management_http_on(node_port(node), "DELETE", "/api/queues/%2F/" + queue);
    management_http_on(node_port(node), "DELETE", "/api/exchanges/%2F/" + exchange);
  }
};

// Seconds from `from` to `to`, or -1 when `to` never happened.
double seconds_between(Clock::time_point from, Clock::time_point to) {
  if (to == Clock::time_point{}) return -1;
  return std::chrono::duration<double>(to - from).count();
}

void run_kill_scenario(Victim victim) {
  if (auto why = cluster_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  // Bring back any node a failed run left down, then abort: ctest would wait 25 minutes.
  Watchdog watchdog(170s, [] {
    for (int node = 1; node <= kClusterNodes; ++node)
      if (!port_open(node_port(node))) cluster_script(node, "start");
  });
  const std::string scenario =
      victim == Victim::connected_node ? "kill -9 of the connected node" : "kill -9 of the queue leader";
  const std::string topic = unique_name("cluster");
  ClusterObjects objects{unique_name("cx"), topic + ".info"};
  const std::string url = cluster_url("?rabbit_quorum_queue=true");

  if (victim == Victim::queue_leader) {
    // Quorum queues are led by the node that declares them (queue_leader_locator client-local),
    // and the clients declare through node 1, the first host of the URL. Declaring the queue on
    // node 2 first, with the arguments Herald would use, puts its leader away from the clients'
    // connections, so the kill tests a leader change under a live connection.
    auto put = management_http_on(node_port(2), "PUT", "/api/queues/%2F/" + objects.queue,
                                  R"({"durable":true,"auto_delete":false,"arguments":{"x-queue-type":"quorum"}})");
    ASSERT_TRUE(put.status == 201 || put.status == 204) << put.status << " " << put.body;
  }

  Ledger ledger(kCount);
  std::vector<detail::SendCallback> outcome_of(kCount);
  std::vector<std::atomic<bool>> reported_failed(kCount);

  CapturedLog consumer_log;
  auto consumer_transport =
      Transport::open(url, TransportOptions{.control_exchange = objects.exchange, .logger = consumer_log.logger});
  std::atomic<std::size_t> handled{0};
  Endpoint endpoint{"cluster"};
  endpoint.on(Priority::info, [&](const Notification& notification) {
    if (auto seq = seq_of_event(notification.event_type)) ledger.consumed(*seq);
    ++handled;
    return Result::handled;
  });
  NotificationServer server(consumer_transport, {Target{topic, ""}}, {endpoint},
                            ServerOptions{.logger = consumer_log.logger});
  server.start();

  CapturedLog producer_log;
  auto producer_transport =
      Transport::open(url, TransportOptions{.control_exchange = objects.exchange, .logger = producer_log.logger});
  NotifierOptions notifier_options;
  notifier_options.publisher_id = "cluster.test";
  notifier_options.topics = {topic};
  notifier_options.logger = producer_log.logger;
  notifier_options.on_error = [&](const SendFailure& failure) {
    auto seq = seq_of_event(failure.event_type);
    if (seq && *seq < kCount && !reported_failed[*seq].exchange(true)) outcome_of[*seq](failure.error, failure.reason);
  };
  Notifier notifier(producer_transport, notifier_options);

  const int leader = cluster_leader(objects.queue);
  if (victim == Victim::queue_leader) {
    ASSERT_NE(leader, 0) << "no leader for queue " << objects.queue;
  }

  // The killer waits for kKillAfterConfirmed confirms, picks the node (the connection is made
  // lazily, so it is known only once sends flow), kills it, and starts it again in the
  // background. `scripts/rabbitmq kill9` takes 0.5-2 s (chroot, pid file) and SIGKILLs somewhere
  // inside that span, so the reconnection time is measured three ways: from the command's start
  // (upper bound), from its return (lower bound), and as the stall: from the last confirm (or
  // handled message) before the kill to the first one after it.
  std::atomic<bool> kill_done{false};
  int target = 0;
  Clock::time_point kill_started_at{}, killed_at{};
  std::uint64_t confirmed_at_kill = 0;
  std::size_t handled_at_kill = 0;
  double kill_command_seconds = 0;
  CommandResult kill;
  std::unique_ptr<NodeRestart> restart;
  std::thread killer([&] {
    auto limit = Clock::now() + 40s;
    while (notifier.stats().confirmed < kKillAfterConfirmed && Clock::now() < limit) std::this_thread::sleep_for(5ms);
    int connected = node_of_port(connected_port(producer_log));
    int consumer_connected = node_of_port(connected_port(consumer_log));
    target = victim == Victim::connected_node ? connected : leader;
    std::cout << "[ cluster ] " << scenario << ": queue " << objects.queue << " led by node " << leader
              << "; notifier on node " << connected << ", server on node " << consumer_connected << "; killing node "
              << target << (target == connected || target == consumer_connected ? " (a client's node)" : "") << "\n";
    if (target == 0) return;
    kill_started_at = Clock::now();
    kill = cluster_script(target, "kill9");
    killed_at = Clock::now();
    kill_command_seconds = seconds_between(kill_started_at, killed_at);
    confirmed_at_kill = notifier.stats().confirmed;
    handled_at_kill = handled;
    kill_done = true;
    restart = std::make_unique<NodeRestart>(target);
  });
  // The first confirm and the first handled message after the kill, and the last ones before it,
  // sampled every millisecond.
  std::atomic<bool> sampling{true};
  Clock::time_point first_confirm{}, first_handled{}, last_confirm_before{}, last_handled_before{};
  std::thread sampler([&] {
    std::uint64_t confirmed_seen = 0;
    std::size_t handled_seen = 0;
    Clock::time_point confirm_changed{}, handled_changed{};
    while (sampling) {
      auto now = Clock::now();
      std::uint64_t confirmed_now = notifier.stats().confirmed;
      std::size_t handled_now = handled;
      if (kill_done && first_confirm == Clock::time_point{} && confirmed_now > confirmed_at_kill) {
        first_confirm = now;
        last_confirm_before = confirm_changed;
      }
      if (kill_done && first_handled == Clock::time_point{} && handled_now > handled_at_kill) {
        first_handled = now;
        last_handled_before = handled_changed;
      }
      if (confirmed_now != confirmed_seen) confirm_changed = now;
      if (handled_now != handled_seen) handled_changed = now;
      confirmed_seen = confirmed_now;
      handled_seen = handled_now;
      std::this_thread::sleep_for(1ms);
    }
  });

  auto stream_started = Clock::now();
  send_paced(kCount, kPerSecond, [&](std::size_t seq) {
    outcome_of[seq] = ledger.on_outcome(seq);
    notifier.info("", kEventPrefix + std::to_string(seq), R"({"seq":)" + std::to_string(seq) + "}");
  });
  double stream_seconds = seconds_between(stream_started, Clock::now());
  killer.join();
  auto flushed = notifier.flush(90s);
  // flush() with nothing pending: every send without a failure was confirmed.
  if (flushed.pending == 0)
    for (std::size_t seq = 0; seq < kCount; ++seq)
      if (!reported_failed[seq]) outcome_of[seq]({}, "");
  bool all_consumed = ledger.wait_consumed(60s);
  // Late duplicates: keep the server running until it has been quiet for a second.
  for (std::size_t seen = 0; seen != handled;) {
    seen = handled;
    std::this_thread::sleep_for(1s);
  }
  sampling = false;
  sampler.join();
  ASSERT_NE(target, 0) << "cannot tell which node to kill";
  server.stop();
  bool server_stopped = server.wait_for(20s);
  bool restarted = restart && restart->join();
  int leader_after = cluster_leader(objects.queue);
  int reconnected_to = node_of_port(connected_port(producer_log));
  int consumer_reconnected_to = node_of_port(connected_port(consumer_log));

  int ask = live_node(restarted ? 0 : target);
  auto queues = ask ? list_queues_on(node_port(ask)) : std::map<std::string, QueueCounts>{};
  auto queue = queues.find(objects.queue);
  std::size_t left = queue == queues.end() ? 0 : queue->second.ready + queue->second.unacked;
  auto stats = notifier.stats();
  auto server_stats = server.stats();
  auto f = ledger.figures();

  std::cout << std::fixed << std::setprecision(3) << "[ cluster ] " << scenario << " (node " << target << ", after "
            << confirmed_at_kill << " confirms): " << f.line() << "\n"
            << "[ cluster ]   reconnection: kill -> first confirm " << seconds_between(kill_started_at, first_confirm)
            << " s from the kill9 command's start, " << seconds_between(killed_at, first_confirm)
            << " s from its return, confirm stall " << seconds_between(last_confirm_before, first_confirm)
            << " s; kill -> first handled " << seconds_between(kill_started_at, first_handled) << " / "
            << seconds_between(killed_at, first_handled) << " s, handling stall "
            << seconds_between(last_handled_before, first_handled) << " s (kill9 took " << kill_command_seconds
            << " s); queue now led by node " << leader_after << "; notifier now on node " << reconnected_to
            << ", server on node " << consumer_reconnected_to << "\n"
            << "[ cluster ]   stream " << stream_seconds << " s; restart of node " << target << " took "
            << (restart ? restart->seconds() : -1.0) << " s (" << (restarted ? "ok" : "FAILED") << "); notifier "
            << "stats sent=" << stats.sent << " confirmed=" << stats.confirmed << " failed=" << stats.failed
            << " pending=" << stats.pending << "; server received=" << server_stats.received
            << " handled=" << server_stats.handled << " duplicates_suppressed=" << server_stats.duplicates
            << " (redeliveries the server acked and skipped by _unique_id; the ledger's duplicates are those a "
               "handler saw)"
            << " released=" << server_stats.released << "; left in queue (node " << ask << "): " << left << "\n";
  print_figures(scenario, ledger, &producer_log);
  for (const auto& line : log_sample(consumer_log, 6))
    std::cout << "[ cluster ]   server: " << line.substr(0, 300) << "\n";

  EXPECT_EQ(kill.status, 0) << kill.output;
  EXPECT_GE(confirmed_at_kill, kKillAfterConfirmed) << "the kill came late: the stream did not reach the kill point";
  EXPECT_LT(confirmed_at_kill, kCount) << "the stream ended before the kill: the scenario tested nothing";
  EXPECT_EQ(flushed.pending, 0u) << "sends still unconfirmed 90 s after the stream";
  EXPECT_EQ(f.lost, 0u);
  EXPECT_TRUE(all_consumed) << "consumed " << f.consumed_unique << " of " << f.confirmed << " confirmed";
  EXPECT_TRUE(server_stopped);
  EXPECT_TRUE(restarted) << (restart ? restart->output() : std::string("no restart"));
  ASSERT_NE(ask, 0) << "no node answers to list the queue";
  ASSERT_NE(queue, queues.end()) << "queue " << objects.queue << " not listed by node " << ask;
  EXPECT_EQ(left, 0u);
  // Reported, not asserted: a send reported failed that was delivered anyway (see the report).
  ::testing::Test::RecordProperty("falsely_failed", static_cast<int>(f.falsely_failed));
}

TEST(Cluster, QuorumQueueSurvivesKillOfTheConnectedNodeDuring20kNotifications) {
  run_kill_scenario(Victim::connected_node);
}

TEST(Cluster, QuorumQueueSurvivesKillOfItsLeaderDuring20kNotifications) { run_kill_scenario(Victim::queue_leader); }

}  // namespace
}  // namespace herald::test
