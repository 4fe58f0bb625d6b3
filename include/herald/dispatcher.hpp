#pragma once
/// @file dispatcher.hpp
/// Routing of decoded notifications to endpoints. Pure: no I/O, no threads.

#include <herald/endpoint.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald {

/// What dispatching one notification did.
struct DispatchResult {
  Result result = Result::handled;
  std::size_t called = 0;        ///< endpoints whose handler ran
  std::size_t filtered_out = 0;  ///< endpoints of that priority skipped by their filter
};

/// Dispatches single notifications, with oslo's rules: the body's priority selects the
/// handlers; endpoints are tried in order; an endpoint whose filter does not match is skipped;
/// the first `requeue` (or exception, logged once) stops dispatch and the result is `requeue`.
/// A priority no endpoint handles gives `handled` with `called == 0`.
///
/// **Thread safety:** immutable; dispatch() may run on many threads at once.
class Dispatcher {
 public:
  /// @param endpoints tried in this order for every priority they handle.
  /// @param logger receives "endpoint '<name>' raised: <what>" warnings (never the payload);
  ///        null means a private stderr logger (spdlog's default logger is never used).
  explicit Dispatcher(std::vector<Endpoint> endpoints, std::shared_ptr<spdlog::logger> logger = {});
  ~Dispatcher();

  /// Runs the handlers for `notification.priority`. Never throws: handler exceptions are
  /// caught, logged and turned into `requeue`.
  DispatchResult dispatch(const Notification& notification) const;
  /// The priorities at least one endpoint handles, in oslo order.
  std::vector<Priority> priorities() const;
  /// The endpoints, in the order given to the constructor.
  const std::vector<Endpoint>& endpoints() const noexcept { return endpoints_; }

 private:
  std::vector<Endpoint> endpoints_;
  std::shared_ptr<spdlog::logger> logger_;
  /// Per priority, the indexes of the endpoints with a handler for it, in list order.
  std::array<std::vector<std::size_t>, kPriorityCount> endpoints_by_priority_;
};

/// Dispatches batches, with oslo's batch rules: the batch is grouped by priority (stable, in
/// arrival order inside a group); each endpoint in order gets the group's notifications that
/// pass its filter (skipped when none); a `requeue` or exception marks the whole priority group
/// for requeue and skips the remaining endpoints for that group. Groups are processed in
/// alphabetical order of the lower-case priority name (audit, critical, debug, error, info,
/// sample, warn), as oslo sorts them; this matters only for the order of handler calls.
///
/// **Thread safety:** immutable; dispatch() may run on many threads at once.
class BatchDispatcher {
 public:
  /// @param endpoints tried in this order for every priority group they handle.
  /// @param logger as for Dispatcher.
  explicit BatchDispatcher(std::vector<BatchEndpoint> endpoints, std::shared_ptr<spdlog::logger> logger = {});
  ~BatchDispatcher();

  /// Returns one result per input notification, in input order. Null pointers in `batch` are
  /// ignored and reported `handled`. Never throws except std::bad_alloc.
  std::vector<Result> dispatch(std::span<const Notification* const> batch) const;
  /// dispatch(), telling for each input notification, in input order, what happened to it:
  /// `called` counts the endpoints whose handler received it and `filtered_out` those of its
  /// priority whose filter kept it out (both 0 when no endpoint handles its priority, and for
  /// null pointers), as Dispatcher::dispatch() counts them. `result` is `requeue` for every
  /// notification of a group whose handler asked for it, whatever that handler saw; endpoints
  /// after that one are not tried and not counted. Never throws except std::bad_alloc.
  std::vector<DispatchResult> dispatch_each(std::span<const Notification* const> batch) const;
  /// The priorities at least one endpoint handles, in oslo order.
  std::vector<Priority> priorities() const;
  /// The endpoints, in the order given to the constructor.
  const std::vector<BatchEndpoint>& endpoints() const noexcept { return endpoints_; }

 private:
  std::vector<BatchEndpoint> endpoints_;
  std::shared_ptr<spdlog::logger> logger_;
  /// Per priority, the indexes of the endpoints with a handler for it, in list order.
  std::array<std::vector<std::size_t>, kPriorityCount> endpoints_by_priority_;
};

}  // namespace herald
