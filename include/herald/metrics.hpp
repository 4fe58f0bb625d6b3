#pragma once
/// @file metrics.hpp
/// Prometheus metrics of transports, notifiers and servers, behind an opaque handle.

#include <memory>
#include <string>
#include <string_view>

namespace herald {

namespace detail {
class MetricFamilies;
}

/// A set of Prometheus metrics that transports, notifiers and servers update.
///
/// Pass it as `TransportOptions::metrics`: the transport, and the notifiers and servers using
/// it (unless `NotifierOptions::metrics` / `ServerOptions::metrics` name another handle),
/// register their series once and update them on their own threads. Several notifiers or
/// servers sharing one handle add into the same series.
///
/// ```cpp
/// auto metrics = herald::Metrics::create();
/// auto transport = herald::Transport::open(url, {.metrics = metrics});
/// herald::Notifier notifier(transport, {.publisher_id = "svc"});  // counts into `metrics`
/// std::string text = metrics->serialize();  // serve it on /metrics
/// ```
/// An application that already uses prometheus-cpp can make the handle over its own
/// `prometheus::Registry` with the opt-in bridge `herald/prometheus.hpp`. Names and labels are
/// listed in docs/operations.md ("Metrics").
///
/// **Thread safety:** thread-safe. Updates are lock-free counters except histogram
/// observations; serialize() may run concurrently with updates.
class Metrics {
 public:
  /// The Content-Type of serialize()'s output (Prometheus text format 0.0.4).
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  /// A new handle owning a registry of its own.
  static std::shared_ptr<Metrics> create();

  /// Internal: used by Metrics::create() and the prometheus bridge.
  explicit Metrics(std::unique_ptr<detail::MetricFamilies> families);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// Everything in the registry (Herald's series and anything else registered there) in the
  /// Prometheus text exposition format.
  std::string serialize() const;

  /// Internal (not part of the stable API).
  detail::MetricFamilies& families() const noexcept { return *families_; }

 private:
  std::unique_ptr<detail::MetricFamilies> families_;
};

}  // namespace herald
