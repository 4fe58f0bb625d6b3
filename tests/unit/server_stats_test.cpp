// ServerStats on memory://: every message taken is counted once, under the same counter in
// single and batch mode (handled, filtered, no_endpoint, requeued, dead-lettered, duplicates).
#include "test_support.hpp"

#include "transports/transport_driver.hpp"  // to send bodies a Notifier would not produce

#include <gtest/gtest.h>

#include <atomic>
#include <span>

using namespace herald;
using herald::test::eventually;

namespace {

constexpr auto kBatchTimeout = std::chrono::milliseconds(100);

void send_raw(Transport& transport, std::string body) {
  transport.driver().send({"openstack", "notifications.info", std::move(body), "", -1}, nullptr);
}

// A valid v2 body; the body's priority, not the queue, decides the dispatch.
std::string body(const std::string& unique_id, Priority priority, const std::string& publisher_id) {
  Notification n;
  n.message_id = "msg-" + unique_id;
  n.publisher_id = publisher_id;
  n.event_type = "compute.instance.update";
  n.priority = priority;
  n.timestamp = "2026-11-22 02:04:13.356107";
  n.unique_id = unique_id;
  return encode(n, EnvelopeVersion::v2);
}

// Waits until `received` messages were taken and all of them are settled.
ServerStats wait_all_settled(NotificationServer& server, std::uint64_t received) {
  eventually([&] {
    ServerStats s = server.stats();
    return s.received >= received && s.in_progress == 0;
  });
  return server.stats();
}

Result handled(std::atomic<int>& calls, std::size_t count = 1) {
  calls.fetch_add(static_cast<int>(count));
  return Result::handled;
}

TEST(ServerStats, BatchModeCountsFilteredAndNoEndpointLikeSingleMode) {
  auto transport = Transport::open("memory://");
  // All sent before start(): they arrive in one batch.
  send_raw(*transport, body("a", Priority::info, "compute.a"));
  send_raw(*transport, body("b", Priority::info, "network.a"));   // the filter says no
  send_raw(*transport, body("c", Priority::error, "compute.a"));  // no endpoint handles error
  std::atomic<int> calls{0};
  BatchEndpoint e{"e"};
  e.filter(Filter{}.publisher_id("compute\\.")).on(Priority::info, [&](std::span<const Notification* const> batch) {
    return handled(calls, batch.size());
  });
  NotificationServer server(transport, {Target{}}, std::vector<BatchEndpoint>{e},
                            {.workers = 1, .batch_size = 3, .batch_timeout = kBatchTimeout});
  server.start();
  ServerStats s = wait_all_settled(server, 3);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(s.received, 3u);
  EXPECT_EQ(s.handled, 1u);
  EXPECT_EQ(s.filtered, 1u);
  EXPECT_EQ(s.no_endpoint, 1u);
}

TEST(ServerStats, BatchModeCountsAMessageEveryFilterRejectsAsFiltered) {
  auto transport = Transport::open("memory://");
  send_raw(*transport, body("a", Priority::info, "network.a"));  // only the second filter passes it
  send_raw(*transport, body("b", Priority::info, "image.a"));    // neither filter passes it
  std::atomic<int> calls{0};
  auto count_calls = [&](std::span<const Notification* const> batch) { return handled(calls, batch.size()); };
  BatchEndpoint compute{"compute"};
  compute.filter(Filter{}.publisher_id("compute\\.")).on(Priority::info, count_calls);
  BatchEndpoint network{"network"};
  network.filter(Filter{}.publisher_id("network\\.")).on(Priority::info, count_calls);
  NotificationServer server(transport, {Target{}}, std::vector<BatchEndpoint>{compute, network},
                            {.workers = 1, .batch_size = 2, .batch_timeout = kBatchTimeout});
  server.start();
  ServerStats s = wait_all_settled(server, 2);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(s.handled, 1u);
  EXPECT_EQ(s.filtered, 1u);
  EXPECT_EQ(s.no_endpoint, 0u);
}

TEST(ServerStats, BatchModeCountsADuplicateInsideOneBatch) {
  auto transport = Transport::open("memory://");
  send_raw(*transport, body("dup-1", Priority::info, "compute.a"));
  send_raw(*transport, body("dup-1", Priority::info, "compute.a"));
  std::atomic<int> calls{0};
  BatchEndpoint e{"e"};
  e.on(Priority::info, [&](std::span<const Notification* const> batch) { return handled(calls, batch.size()); });
  NotificationServer server(transport, {Target{}}, std::vector<BatchEndpoint>{e},
                            {.workers = 1, .batch_size = 2, .batch_timeout = kBatchTimeout});
  server.start();
  ServerStats s = wait_all_settled(server, 2);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(s.handled, 1u);
  EXPECT_EQ(s.duplicates, 1u);
}

// The same traffic through a single and a batch server: handled, filtered by every endpoint,
// no endpoint for the priority, undecodable, unknown priority, requeued once, a duplicate.
ServerStats run_mixed_traffic(bool batch_mode) {
  auto transport = Transport::open("memory://");
  send_raw(*transport, body("h1", Priority::info, "compute.a"));
  send_raw(*transport, body("h2", Priority::info, "compute.b"));
  send_raw(*transport, body("f1", Priority::info, "network.a"));
  send_raw(*transport, body("n1", Priority::error, "compute.a"));
  send_raw(*transport, "{truncated");
  send_raw(*transport, R"({"priority": "LOUD", "event_type": "x", "payload": {}})");
  send_raw(*transport, body("r1", Priority::warn, "compute.a"));  // requeued once, then handled
  send_raw(*transport, body("d1", Priority::info, "compute.a"));
  send_raw(*transport, body("d1", Priority::info, "compute.a"));
  constexpr std::uint64_t kReceived = 10;  // 9 sent + 1 redelivery

  std::atomic<int> calls{0};
  std::atomic<bool> requeued_once{false};
  auto warn_result = [&] { return requeued_once.exchange(true) ? Result::handled : Result::requeue; };
  const Filter compute = Filter{}.publisher_id("compute\\.");
  const Filter audit = Filter{}.event_type("^audit\\.");
  test::CapturedLog log;  // the dead-letter warnings
  ServerOptions options{
      .workers = 1, .allow_requeue = true, .batch_size = 9, .batch_timeout = kBatchTimeout, .logger = log.logger};
  std::unique_ptr<NotificationServer> server;
  if (batch_mode) {
    BatchEndpoint first{"compute"};
    first.filter(compute)
        .on(Priority::info, [&](std::span<const Notification* const> b) { return handled(calls, b.size()); })
        .on(Priority::warn, [&](std::span<const Notification* const>) { return warn_result(); });
    BatchEndpoint second{"audit"};
    second.filter(audit).on(Priority::info,
                            [&](std::span<const Notification* const> b) { return handled(calls, b.size()); });
    server = std::make_unique<NotificationServer>(transport, std::vector<Target>{Target{}},
                                                  std::vector<BatchEndpoint>{first, second}, options);
  } else {
    Endpoint first{"compute"};
    first.filter(compute)
        .on(Priority::info, [&](const Notification&) { return handled(calls); })
        .on(Priority::warn, [&](const Notification&) { return warn_result(); });
    Endpoint second{"audit"};
    second.filter(audit).on(Priority::info, [&](const Notification&) { return handled(calls); });
    server = std::make_unique<NotificationServer>(transport, std::vector<Target>{Target{}},
                                                  std::vector<Endpoint>{first, second}, options);
  }
  server->start();
  ServerStats s = wait_all_settled(*server, kReceived);
  server->stop();
  server->wait();
  EXPECT_EQ(calls.load(), 3) << (batch_mode ? "batch" : "single");  // h1, h2, d1
  return s;
}

void expect_mixed_traffic_counts(const ServerStats& s, const char* mode) {
  SCOPED_TRACE(mode);
  EXPECT_EQ(s.received, 10u);
  EXPECT_EQ(s.handled, 4u);  // h1, h2, d1, r1 redelivered
  EXPECT_EQ(s.filtered, 1u);
  EXPECT_EQ(s.no_endpoint, 1u);
  EXPECT_EQ(s.requeued, 1u);
  EXPECT_EQ(s.requeue_refused, 0u);
  EXPECT_EQ(s.dead_lettered, 2u);
  EXPECT_EQ(s.undecodable, 1u);
  EXPECT_EQ(s.unknown_priority, 1u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.released, 0u);
  EXPECT_EQ(s.in_progress, 0u);
}

TEST(ServerStats, SingleAndBatchModeCountTheSameTrafficTheSame) {
  const ServerStats single = run_mixed_traffic(false);
  const ServerStats batch = run_mixed_traffic(true);
  expect_mixed_traffic_counts(single, "single");
  expect_mixed_traffic_counts(batch, "batch");
  EXPECT_EQ(batch.received, single.received);
  EXPECT_EQ(batch.handled, single.handled);
  EXPECT_EQ(batch.filtered, single.filtered);
  EXPECT_EQ(batch.no_endpoint, single.no_endpoint);
  EXPECT_EQ(batch.requeued, single.requeued);
  EXPECT_EQ(batch.requeue_refused, single.requeue_refused);
  EXPECT_EQ(batch.dead_lettered, single.dead_lettered);
  EXPECT_EQ(batch.undecodable, single.undecodable);
  EXPECT_EQ(batch.unknown_priority, single.unknown_priority);
  EXPECT_EQ(batch.duplicates, single.duplicates);
  EXPECT_EQ(batch.released, single.released);
}

}  // namespace
