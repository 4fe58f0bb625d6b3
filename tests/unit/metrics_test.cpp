// herald::Metrics through the public API on memory://: the notifier, server and transport
// series move as traffic passes; the prometheus bridge shares an application's registry.
#include "metrics_support.hpp"
#include "test_support.hpp"

#include "transports/transport_driver.hpp"  // to put an undecodable body on the wire

#include <herald/prometheus.hpp>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/text_serializer.h>

#include <atomic>

using namespace herald;
using herald::test::eventually;
using herald::test::sample;

namespace {

double value(const Metrics& metrics, const std::string& series) {
  return sample(metrics.serialize(), series).value_or(-1);
}

TEST(Metrics, SeriesAppearWhenAComponentUsesTheHandle) {
  auto metrics = Metrics::create();
  std::string text = metrics->serialize();
  EXPECT_NE(text.find("herald_build_info{version=\""), std::string::npos) << text;
  EXPECT_EQ(text.find("herald_notifications_sent_total"), std::string::npos) << text;
  Notifier notifier(Transport::open("memory://"), {.metrics = metrics});
  // Every priority's series exists (at 0) as soon as a notifier uses the handle.
  EXPECT_EQ(value(*metrics, R"(herald_notifications_sent_total{priority="sample"})"), 0);
}

TEST(Metrics, TransportStateGaugeOnMemoryIsConnected) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://", {.metrics = metrics});
  EXPECT_EQ(value(*metrics, R"(herald_transport_state{state="connected"})"), 1);
  EXPECT_EQ(value(*metrics, R"(herald_transport_state{state="connecting"})"), 0);
  EXPECT_EQ(value(*metrics, "herald_transport_reconnects_total"), 0);
}

TEST(Metrics, NotifierCountsSentAndConfirmedPerPriority) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, {.publisher_id = "p", .metrics = metrics});
  for (int i = 0; i < 10; ++i) notifier.info("{}", "e", "{}");
  for (int i = 0; i < 3; ++i) notifier.error("{}", "e", "{}");
  ASSERT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  EXPECT_EQ(value(*metrics, R"(herald_notifications_sent_total{priority="info"})"), 10);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_confirmed_total{priority="info"})"), 10);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_sent_total{priority="error"})"), 3);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_confirmed_total{priority="error"})"), 3);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_sent_total{priority="audit"})"), 0);
  EXPECT_EQ(value(*metrics, "herald_notifications_in_flight"), 0);
  EXPECT_EQ(value(*metrics, "herald_confirm_latency_seconds_count"), 13);
}

TEST(Metrics, NotifierCountsFailuresByPriorityAndReason) {
  auto metrics = Metrics::create();
  // One ready message fills the queue; with overflow=reject the next sends fail at once.
  auto transport = Transport::open("memory://?max_depth=1&overflow=reject");
  Notifier notifier(transport, {.metrics = metrics});
  for (int i = 0; i < 3; ++i) notifier.warn("{}", "e", "{}");
  notifier.flush(std::chrono::seconds(5));
  EXPECT_EQ(value(*metrics, R"(herald_notifications_confirmed_total{priority="warn"})"), 1);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_failed_total{priority="warn",reason="overflow"})"), 2);
  EXPECT_EQ(value(*metrics, "herald_notifications_in_flight"), 0);
}

TEST(Metrics, ServerCountsHandledFilteredDuplicatesDeadLettersAndHandlerTime) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://?dead_letter_queue=dlq", {.metrics = metrics});
  std::atomic<int> handled{0};
  Endpoint audit{"audit"};
  audit.filter(Filter{}.publisher_id("^compute\\.")).on(Priority::info, [&](const Notification&) {
    return handled.fetch_add(1), Result::handled;
  });
  NotificationServer server(transport, {Target{}}, {audit}, {.workers = 2, .metrics = metrics});
  server.start();
  Notifier compute(transport, {.publisher_id = "compute.host1", .metrics = metrics});
  Notifier other(transport, {.publisher_id = "network.agent", .metrics = metrics});
  for (int i = 0; i < 20; ++i) compute.info("{}", "e", "{}");
  for (int i = 0; i < 5; ++i) other.info("{}", "e", "{}");
  transport->driver().send({"openstack", "notifications.info", "{truncated", "", -1}, nullptr);
  ASSERT_TRUE(eventually([&] { return server.stats().in_progress == 0 && server.stats().received == 26; }));
  EXPECT_EQ(value(*metrics, "herald_server_received_total"), 26);
  EXPECT_EQ(value(*metrics, "herald_server_handled_total"), 20);
  EXPECT_EQ(value(*metrics, R"(herald_server_acked_unhandled_total{reason="filtered"})"), 5);
  EXPECT_EQ(value(*metrics, R"(herald_server_dead_lettered_total{reason="undecodable"})"), 1);
  EXPECT_EQ(value(*metrics, R"(herald_server_dead_lettered_total{reason="redelivery_limit"})"), 0);
  EXPECT_EQ(value(*metrics, "herald_server_backlog"), 0);
  EXPECT_EQ(value(*metrics, R"(herald_handler_duration_seconds_count{endpoint="audit"})"), 20);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_sent_total{priority="info"})"), 25);
  server.stop();
  server.wait();
}

TEST(Metrics, ServerCountsRequeuesAndTheRedeliveryLimit) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://");
  Endpoint poison{"poison"};
  poison.on(Priority::info, [](const Notification&) { return Result::requeue; });
  NotificationServer server(transport, {Target{}}, {poison},
                            {.allow_requeue = true, .max_redeliveries = 2, .metrics = metrics});
  server.start();
  Notifier(transport, {}).info("{}", "e", "{}");
  ASSERT_TRUE(eventually([&] { return server.stats().dead_lettered == 1; }));
  EXPECT_EQ(value(*metrics, "herald_server_requeued_total"), 2);
  EXPECT_EQ(value(*metrics, R"(herald_server_dead_lettered_total{reason="redelivery_limit"})"), 1);
  EXPECT_EQ(value(*metrics, R"(herald_handler_duration_seconds_count{endpoint="poison"})"), 3);
}

TEST(Metrics, NotifiersAndServersUseTheTransportsHandleByDefault) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://", {.metrics = metrics});
  std::atomic<int> handled{0};
  Endpoint e{"e"};
  e.on(Priority::debug, [&](const Notification&) { return handled.fetch_add(1), Result::handled; });
  NotificationServer server(transport, {Target{}}, {e});
  server.start();
  Notifier notifier(transport, {});
  notifier.debug("{}", "e", "{}");
  ASSERT_TRUE(eventually([&] { return handled.load() == 1 && server.stats().in_progress == 0; }));
  EXPECT_EQ(value(*metrics, R"(herald_notifications_confirmed_total{priority="debug"})"), 1);
  EXPECT_EQ(value(*metrics, "herald_server_handled_total"), 1);
  // Another handle in the options wins.
  auto own = Metrics::create();
  Notifier separate(transport, {.metrics = own});
  separate.debug("{}", "e", "{}");
  separate.flush(std::chrono::seconds(5));
  EXPECT_EQ(value(*own, R"(herald_notifications_confirmed_total{priority="debug"})"), 1);
  EXPECT_EQ(value(*metrics, R"(herald_notifications_confirmed_total{priority="debug"})"), 1);
}

TEST(Metrics, BatchServersCountMessagesAndTimeEachBatchCall) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://", {.metrics = metrics});
  std::atomic<int> calls{0}, messages{0};
  BatchEndpoint e{"batcher"};
  e.on(Priority::sample, [&](std::span<const Notification* const> batch) {
    calls.fetch_add(1);
    messages.fetch_add(static_cast<int>(batch.size()));
    return Result::handled;
  });
  Notifier notifier(transport, {});
  for (int i = 0; i < 30; ++i) notifier.sample("{}", "e", "{}");
  NotificationServer server(transport, {Target{}}, {e},
                            {.batch_size = 10, .batch_timeout = std::chrono::milliseconds(50)});
  server.start();
  ASSERT_TRUE(eventually([&] { return messages.load() == 30 && server.stats().in_progress == 0; }));
  EXPECT_EQ(value(*metrics, "herald_server_handled_total"), 30);
  EXPECT_EQ(value(*metrics, R"(herald_handler_duration_seconds_count{endpoint="batcher"})"), calls.load());
}

TEST(Metrics, BatchServersCountFilteredAndNoEndpointAsServerStatsDoes) {
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://", {.metrics = metrics});
  std::atomic<int> messages{0};
  BatchEndpoint e{"batcher"};
  e.filter(Filter{}.publisher_id("^compute\\.")).on(Priority::info, [&](std::span<const Notification* const> batch) {
    messages.fetch_add(static_cast<int>(batch.size()));
    return Result::handled;
  });
  for (int i = 0; i < 3; ++i) Notifier(transport, {.publisher_id = "compute.host1"}).info("{}", "e", "{}");
  for (int i = 0; i < 2; ++i) Notifier(transport, {.publisher_id = "network.agent"}).info("{}", "e", "{}");
  Notification error;
  error.priority = Priority::error;  // no endpoint handles it; sent where the server listens
  error.event_type = "e";
  error.timestamp = "2026-11-22 02:04:13.356107";
  transport->driver().send({"openstack", "notifications.info", encode(error, EnvelopeVersion::v2), "", -1}, nullptr);
  NotificationServer server(transport, {Target{}}, {e},
                            {.batch_size = 6, .batch_timeout = std::chrono::milliseconds(50)});
  server.start();
  ASSERT_TRUE(eventually([&] { return server.stats().received == 6 && server.stats().in_progress == 0; }));
  const ServerStats stats = server.stats();
  EXPECT_EQ(messages.load(), 3);
  EXPECT_EQ(stats.handled, 3u);
  EXPECT_EQ(stats.filtered, 2u);
  EXPECT_EQ(stats.no_endpoint, 1u);
  EXPECT_EQ(value(*metrics, "herald_server_handled_total"), stats.handled);
  EXPECT_EQ(value(*metrics, R"(herald_server_acked_unhandled_total{reason="filtered"})"), stats.filtered);
  EXPECT_EQ(value(*metrics, R"(herald_server_acked_unhandled_total{reason="no_endpoint"})"), stats.no_endpoint);
}

TEST(Metrics, BridgeRegistersInTheApplicationsRegistry) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& own = prometheus::BuildCounter().Name("app_requests_total").Help("the app's own").Register(*registry);
  own.Add({}).Increment(7);
  auto metrics = make_metrics(registry);
  EXPECT_EQ(registry_of(*metrics), registry);
  Notifier notifier(Transport::open("memory://"), {.metrics = metrics});
  notifier.audit("{}", "e", "{}");
  notifier.flush(std::chrono::seconds(5));
  // What the application's exposer would serve: both its series and Herald's.
  std::string text = prometheus::TextSerializer().Serialize(registry->Collect());
  EXPECT_EQ(sample(text, "app_requests_total"), 7);
  EXPECT_EQ(sample(text, R"(herald_notifications_confirmed_total{priority="audit"})"), 1);
  EXPECT_EQ(metrics->serialize(), text);
}

TEST(Metrics, TwoHandlesOverOneRegistryShareTheSeries) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = make_metrics(registry);
  auto second = make_metrics(registry);
  auto transport = Transport::open("memory://");
  Notifier a(transport, {.metrics = first});
  Notifier b(transport, {.metrics = second});
  a.info("{}", "e", "{}");
  b.info("{}", "e", "{}");
  a.flush(std::chrono::seconds(5));
  EXPECT_EQ(value(*first, R"(herald_notifications_confirmed_total{priority="info"})"), 2);
}

TEST(Metrics, BridgeRefusesANullOrConflictingRegistry) {
  EXPECT_THROW(make_metrics(nullptr), Error);
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge().Name("herald_notifications_sent_total").Help("x").Register(*registry);
  EXPECT_THROW(make_metrics(registry), ConfigError);
}

}  // namespace
