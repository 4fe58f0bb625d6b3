#include <herald/dispatcher.hpp>

#include "core/logging.hpp"
#include "dispatch/endpoint_table.hpp"

namespace herald {

Dispatcher::Dispatcher(std::vector<Endpoint> endpoints, std::shared_ptr<spdlog::logger> logger)
    : endpoints_(std::move(endpoints)),
      logger_(detail::logger_or_default(std::move(logger))),
      endpoints_by_priority_(detail::make_endpoint_table(endpoints_)) {}

Dispatcher::~Dispatcher() = default;

DispatchResult Dispatcher::dispatch(const Notification& notification) const {
  DispatchResult outcome;
  for (std::size_t index : endpoints_by_priority_[index_of(notification.priority)]) {
    const Endpoint& endpoint = endpoints_[index];
    if (!endpoint.filter().matches(notification)) {
      ++outcome.filtered_out;
      continue;
    }
    const Handler& handler = *endpoint.handler(notification.priority);
    ++outcome.called;
    // oslo stops at the first REQUEUE (or exception): later endpoints see the redelivery.
    if (detail::call_guarded(*logger_, endpoint.name(), [&] { return handler(notification); }) == Result::requeue) {
      outcome.result = Result::requeue;
      break;
    }
  }
  return outcome;
}

std::vector<Priority> Dispatcher::priorities() const { return detail::table_priorities(endpoints_by_priority_); }

}  // namespace herald
