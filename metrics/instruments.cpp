#include "metrics/instruments.hpp"

#include "metrics/metric_families.hpp"

#include <herald/error.hpp>

namespace herald::detail {
namespace {

// Bounded label values: an Errc name, or "other" for errors of other categories.
std::string reason_label(std::error_code error) {
  if (error.category() != error_category()) return "other";
  if (!error) return "ok";
  switch (static_cast<Errc>(error.value())) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::invalid_config:
      return "invalid_config";
    case Errc::invalid_url:
      return "invalid_url";
    case Errc::decode_error:
      return "decode_error";
    case Errc::unsupported_version:
      return "unsupported_version";
    case Errc::unknown_priority:
      return "unknown_priority";
    case Errc::transport_error:
      return "transport_error";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::unreachable:
      return "unreachable";
    case Errc::timeout:
      return "timeout";
    case Errc::overflow:
      return "overflow";
    case Errc::closed:
      return "closed";
    case Errc::rejected:
      return "rejected";
    case Errc::precondition_failed:
      return "precondition_failed";
    case Errc::tls_failed:
      return "tls_failed";
  }
  return "other";
}

constexpr std::array<TransportState, 4> kStates = {TransportState::connecting, TransportState::connected,
                                                   TransportState::degraded, TransportState::failed};

// Label values and metric names of each Settlement, in enum order.
struct SettlementSeries {
  enum Family { handled, acked_unhandled, requeued, duplicates, released, dead_lettered } family;
  const char* reason;  // label "reason", or null
};
constexpr std::array<SettlementSeries, kSettlementCount> kSettlementSeries = {{
    {SettlementSeries::handled, nullptr},
    {SettlementSeries::acked_unhandled, "filtered"},
    {SettlementSeries::acked_unhandled, "no_endpoint"},
    {SettlementSeries::acked_unhandled, "requeue_refused"},
    {SettlementSeries::requeued, nullptr},
    {SettlementSeries::duplicates, nullptr},
    {SettlementSeries::released, nullptr},
    {SettlementSeries::dead_lettered, "undecodable"},
    {SettlementSeries::dead_lettered, "unknown_priority"},
    {SettlementSeries::dead_lettered, "redelivery_limit"},
}};

double seconds(std::chrono::steady_clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

TransportInstruments::TransportInstruments(std::shared_ptr<Metrics> metrics) : metrics_(std::move(metrics)) {
  MetricFamilies& families = metrics_->families();
  for (std::size_t i = 0; i < kStates.size(); ++i)
    state_[i] = &families.transport_state.Add({{"state", std::string(to_string(kStates[i]))}});
  reconnects_ = &families.transport_reconnects.Add({});
}

void TransportInstruments::state_changed(TransportState state) noexcept {
  std::lock_guard lock(mutex_);
  apply_locked(state);
}

void TransportInstruments::initial_state(TransportState state) noexcept {
  std::lock_guard lock(mutex_);
  if (!seen_) apply_locked(state);
}

void TransportInstruments::apply_locked(TransportState state) noexcept {
  seen_ = true;
  for (std::size_t i = 0; i < kStates.size(); ++i) state_[i]->Set(kStates[i] == state ? 1 : 0);
  switch (state) {
    case TransportState::connected:
      if (ever_connected_ && lost_) reconnects_->Increment();
      ever_connected_ = true;
      lost_ = false;
      break;
    case TransportState::connecting:
    case TransportState::failed:
      lost_ = ever_connected_;
      break;
    case TransportState::degraded:
      ever_connected_ = true;  // degraded means connected with a problem
      break;
  }
}

NotifierInstruments::NotifierInstruments(std::shared_ptr<Metrics> metrics) : metrics_(std::move(metrics)) {
  MetricFamilies& families = metrics_->families();
  for (Priority p : kAllPriorities) {
    prometheus::Labels labels{{"priority", std::string(to_string(p))}};
    sent_[index_of(p)] = &families.notifications_sent.Add(labels);
    confirmed_[index_of(p)] = &families.notifications_confirmed.Add(labels);
  }
  in_flight_ = &families.notifications_in_flight.Add({});
  confirm_latency_ = &families.confirm_latency.Add({}, MetricFamilies::latency_buckets());
}

void NotifierInstruments::sent(Priority priority) noexcept {
  sent_[index_of(priority)]->Increment();
  in_flight_->Increment();
}

void NotifierInstruments::confirmed(Priority priority, std::chrono::steady_clock::duration latency) noexcept {
  confirmed_[index_of(priority)]->Increment();
  in_flight_->Decrement();
  confirm_latency_->Observe(seconds(latency));
}

void NotifierInstruments::failed(Priority priority, std::error_code error) noexcept {
  in_flight_->Decrement();
  try {
    metrics_->families()
        .notifications_failed.Add({{"priority", std::string(to_string(priority))}, {"reason", reason_label(error)}})
        .Increment();
  } catch (...) {
    // Only std::bad_alloc can get here; a lost count must not fail the send path.
  }
}

ServerInstruments::ServerInstruments(std::shared_ptr<Metrics> metrics) : metrics_(std::move(metrics)) {
  MetricFamilies& families = metrics_->families();
  received_ = &families.server_received.Add({});
  backlog_ = &families.server_backlog.Add({});
  for (std::size_t i = 0; i < kSettlementCount; ++i) {
    const SettlementSeries& series = kSettlementSeries[i];
    prometheus::Labels labels;
    if (series.reason) labels.emplace("reason", series.reason);
    prometheus::Family<prometheus::Counter>* family = nullptr;
    switch (series.family) {
      case SettlementSeries::handled:
        family = &families.server_handled;
        break;
      case SettlementSeries::acked_unhandled:
        family = &families.server_acked_unhandled;
        break;
      case SettlementSeries::requeued:
        family = &families.server_requeued;
        break;
      case SettlementSeries::duplicates:
        family = &families.server_duplicates;
        break;
      case SettlementSeries::released:
        family = &families.server_released;
        break;
      case SettlementSeries::dead_lettered:
        family = &families.server_dead_lettered;
        break;
    }
    settled_[i] = &family->Add(labels);
  }
}

void ServerInstruments::received(std::size_t count) noexcept {
  received_->Increment(static_cast<double>(count));
  backlog_->Increment(static_cast<double>(count));
}

void ServerInstruments::settled(Settlement settlement) noexcept {
  settled_[static_cast<std::size_t>(settlement)]->Increment();
  backlog_->Decrement();
}

prometheus::Histogram* ServerInstruments::handler_duration(const std::string& endpoint) {
  return &metrics_->families().handler_duration.Add({{"endpoint", endpoint}}, MetricFamilies::latency_buckets());
}

void ServerInstruments::observe(prometheus::Histogram* series, std::chrono::steady_clock::duration duration) noexcept {
  series->Observe(seconds(duration));
}

}  // namespace herald::detail

namespace herald::detail {

OutboxInstruments::OutboxInstruments(std::shared_ptr<Metrics> metrics) : metrics_(std::move(metrics)) {
  MetricFamilies& families = metrics_->families();
  depth_ = &families.outbox_depth.Add({});
  oldest_age_ = &families.outbox_oldest_age.Add({});
  dropped_ = &families.outbox_dropped.Add({});
  replayed_ = &families.outbox_replayed.Add({});
}

void OutboxInstruments::update(std::uint64_t depth, double oldest_age_seconds) noexcept {
  depth_->Set(static_cast<double>(depth));
  oldest_age_->Set(oldest_age_seconds);
}

void OutboxInstruments::dropped(std::uint64_t count) noexcept { dropped_->Increment(static_cast<double>(count)); }
void OutboxInstruments::replayed(std::uint64_t count) noexcept { replayed_->Increment(static_cast<double>(count)); }

}  // namespace herald::detail
