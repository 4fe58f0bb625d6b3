#include <herald/dispatcher.hpp>

#include "core/logging.hpp"
#include "dispatch/endpoint_table.hpp"

#include <array>

namespace herald {
namespace {

/// oslo sorts a batch by lower-case priority name before grouping (itertools.groupby over
/// sorted()), so groups run in alphabetical order of those names.
constexpr std::array<Priority, kPriorityCount> kGroupOrder = {Priority::audit, Priority::critical, Priority::debug,
                                                              Priority::error, Priority::info,     Priority::sample,
                                                              Priority::warn};

}  // namespace

BatchDispatcher::BatchDispatcher(std::vector<BatchEndpoint> endpoints, std::shared_ptr<spdlog::logger> logger)
    : endpoints_(std::move(endpoints)),
      logger_(detail::logger_or_default(std::move(logger))),
      endpoints_by_priority_(detail::make_endpoint_table(endpoints_)) {}

BatchDispatcher::~BatchDispatcher() = default;

std::vector<Result> BatchDispatcher::dispatch(std::span<const Notification* const> batch) const {
  std::vector<Result> results;
  results.reserve(batch.size());
  for (const DispatchResult& outcome : dispatch_each(batch)) results.push_back(outcome.result);
  return results;
}

std::vector<DispatchResult> BatchDispatcher::dispatch_each(std::span<const Notification* const> batch) const {
  std::vector<DispatchResult> outcomes(batch.size());
  std::vector<std::size_t> group;     // input positions of one priority, in arrival order
  std::vector<std::size_t> accepted;  // the part of the group one endpoint's filter passes
  std::vector<const Notification*> view;

  for (Priority priority : kGroupOrder) {
    const std::vector<std::size_t>& endpoint_indexes = endpoints_by_priority_[index_of(priority)];
    if (endpoint_indexes.empty()) continue;  // oslo finds no callbacks and acks the group
    group.clear();
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (batch[i] != nullptr && batch[i]->priority == priority) group.push_back(i);
    if (group.empty()) continue;

    for (std::size_t index : endpoint_indexes) {
      const BatchEndpoint& endpoint = endpoints_[index];
      accepted.clear();
      view.clear();
      for (std::size_t i : group) {
        if (endpoint.filter().matches(*batch[i])) {
          accepted.push_back(i);
          view.push_back(batch[i]);
        } else {
          ++outcomes[i].filtered_out;
        }
      }
      if (accepted.empty()) continue;

      for (std::size_t i : accepted) ++outcomes[i].called;
      const BatchHandler& handler = *endpoint.handler(priority);
      const std::span<const Notification* const> handed(view);
      if (detail::call_guarded(*logger_, endpoint.name(), [&] { return handler(handed); }) == Result::requeue) {
        // The whole group, not only what this endpoint saw, is requeued (oslo's behaviour).
        for (std::size_t i : group) outcomes[i].result = Result::requeue;
        break;
      }
    }
  }
  return outcomes;
}

std::vector<Priority> BatchDispatcher::priorities() const { return detail::table_priorities(endpoints_by_priority_); }

}  // namespace herald
