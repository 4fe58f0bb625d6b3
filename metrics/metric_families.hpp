#pragma once
// The prometheus-cpp side of herald::Metrics: the registry and Herald's metric families.
// Only metrics/ includes this header; notifier/, server/ and transports/ use metrics/instruments.hpp.

#include <herald/metrics.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace herald::detail {

/// Families are registered once, when the handle is made; instruments resolve their series
/// from them at construction, so the hot path never looks a series up by labels.
/// **Thread safety:** thread-safe (prometheus-cpp families and metrics are).
class MetricFamilies {
 public:
  explicit MetricFamilies(std::shared_ptr<prometheus::Registry> registry);

  const std::shared_ptr<prometheus::Registry>& registry() const noexcept { return registry_; }

  /// Bucket bounds (seconds) of the latency histograms: 0.5 ms to 10 s.
  static const prometheus::Histogram::BucketBoundaries& latency_buckets();

 private:
  // Declared first so that it is initialised before the families registered in it.
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  // Transport
  prometheus::Family<prometheus::Gauge>& transport_state;
  prometheus::Family<prometheus::Counter>& transport_reconnects;
  // Notifier
  prometheus::Family<prometheus::Counter>& notifications_sent;
  prometheus::Family<prometheus::Counter>& notifications_confirmed;
  prometheus::Family<prometheus::Counter>& notifications_failed;
  prometheus::Family<prometheus::Gauge>& notifications_in_flight;
  prometheus::Family<prometheus::Histogram>& confirm_latency;
  // Notifier outbox
  prometheus::Family<prometheus::Gauge>& outbox_depth;
  prometheus::Family<prometheus::Gauge>& outbox_oldest_age;
  prometheus::Family<prometheus::Counter>& outbox_dropped;
  prometheus::Family<prometheus::Counter>& outbox_replayed;
  // Server
  prometheus::Family<prometheus::Counter>& server_received;
  prometheus::Family<prometheus::Counter>& server_handled;
  prometheus::Family<prometheus::Counter>& server_acked_unhandled;
  prometheus::Family<prometheus::Counter>& server_requeued;
  prometheus::Family<prometheus::Counter>& server_dead_lettered;
  prometheus::Family<prometheus::Counter>& server_duplicates;
  prometheus::Family<prometheus::Counter>& server_released;
  prometheus::Family<prometheus::Gauge>& server_backlog;
  prometheus::Family<prometheus::Histogram>& handler_duration;
};

}  // namespace herald::detail
