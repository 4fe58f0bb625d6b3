#include "metrics/metric_families.hpp"

#include <herald/error.hpp>
#include <herald/prometheus.hpp>

#include <prometheus/text_serializer.h>

#include <stdexcept>

namespace herald {
namespace detail {
namespace {

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& histogram(prometheus::Registry& registry, const char* name,
                                                     const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

std::shared_ptr<prometheus::Registry> checked(std::shared_ptr<prometheus::Registry> registry) {
  if (!registry) throw ArgumentError("metrics: the prometheus registry is null");
  return registry;
}

}  // namespace

MetricFamilies::MetricFamilies(std::shared_ptr<prometheus::Registry> registry)
    : registry_(checked(std::move(registry))),
      transport_state(gauge(*registry_, "herald_transport_state",
                            "1 for the transport's current state (connecting, connected, degraded, failed), else 0")),
      transport_reconnects(counter(*registry_, "herald_transport_reconnects_total",
                                   "Times the transport became connected again after losing its connection")),
      notifications_sent(counter(*registry_, "herald_notifications_sent_total",
                                 "Notifications handed to the transport, one per topic")),
      notifications_confirmed(counter(*registry_, "herald_notifications_confirmed_total",
                                      "Notifications the transport confirmed (queued by the broker)")),
      notifications_failed(counter(*registry_, "herald_notifications_failed_total",
                                   "Notifications that failed, by priority and reason")),
      notifications_in_flight(
          gauge(*registry_, "herald_notifications_in_flight", "Notifications sent but not yet confirmed or failed")),
      confirm_latency(histogram(*registry_, "herald_confirm_latency_seconds",
                                "Time from handing a notification to the transport until it was confirmed")),
      outbox_depth(gauge(*registry_, "herald_outbox_depth", "Notifications in the durable outbox, not yet confirmed")),
      outbox_oldest_age(gauge(*registry_, "herald_outbox_oldest_age_seconds",
                              "Age of the oldest notification in the durable outbox (0 when empty)")),
      outbox_dropped(counter(*registry_, "herald_outbox_dropped_total",
                             "Notifications dropped from a full outbox (full policy drop_oldest)")),
      outbox_replayed(counter(*registry_, "herald_outbox_replayed_total",
                              "Unconfirmed notifications found in the outbox on start and sent again")),
      server_received(counter(*registry_, "herald_server_received_total", "Messages a server took from the transport")),
      server_handled(counter(*registry_, "herald_server_handled_total", "Messages acked after a handler ran")),
      server_acked_unhandled(counter(*registry_, "herald_server_acked_unhandled_total",
                                     "Messages acked without being handled, by reason (filtered, no_endpoint, "
                                     "requeue_refused)")),
      server_requeued(counter(*registry_, "herald_server_requeued_total", "Messages released for redelivery")),
      server_dead_lettered(counter(*registry_, "herald_server_dead_lettered_total",
                                   "Messages dead-lettered, by reason (undecodable, unknown_priority, "
                                   "redelivery_limit)")),
      server_duplicates(counter(*registry_, "herald_server_duplicates_total",
                                "Messages acked and skipped as duplicates of a recently handled one")),
      server_released(
          counter(*registry_, "herald_server_released_total", "Messages returned unhandled when a server stopped")),
      server_backlog(gauge(*registry_, "herald_server_backlog",
                           "Messages a server took from the transport and has not settled yet")),
      handler_duration(
          histogram(*registry_, "herald_handler_duration_seconds", "Time an endpoint's handler took, by endpoint")) {
  prometheus::BuildGauge()
      .Name("herald_build_info")
      .Help("Herald's version")
      .Register(*registry_)
      .Add({{"version", HERALD_VERSION}})
      .Set(1);
}

const prometheus::Histogram::BucketBoundaries& MetricFamilies::latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBuckets;
}

}  // namespace detail

Metrics::Metrics(std::unique_ptr<detail::MetricFamilies> families) : families_(std::move(families)) {
  if (!families_) throw ArgumentError("metrics: no metric families");
}

Metrics::~Metrics() = default;

std::shared_ptr<Metrics> Metrics::create() { return make_metrics(std::make_shared<prometheus::Registry>()); }

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(families_->registry()->Collect());
}

std::shared_ptr<Metrics> make_metrics(std::shared_ptr<prometheus::Registry> registry) {
  try {
    return std::make_shared<Metrics>(std::make_unique<detail::MetricFamilies>(std::move(registry)));
  } catch (const std::invalid_argument& e) {
    // prometheus-cpp: a family of that name exists with another type or constant labels.
    throw ConfigError(std::string("metrics: the registry already holds a conflicting family: ") + e.what());
  }
}

std::shared_ptr<prometheus::Registry> registry_of(const Metrics& metrics) { return metrics.families().registry(); }

}  // namespace herald
