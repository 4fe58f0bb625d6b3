#pragma once
/// @file endpoint.hpp

#include <herald/filter.hpp>
#include <herald/notification.hpp>
#include <herald/priority.hpp>

#include <array>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace herald {

/// What a handler decided. `requeue` asks for redelivery (honoured only when the server allows
/// requeue); throwing from a handler counts as `requeue`.
enum class Result { handled, requeue };

/// Handles single notifications of one priority.
using Handler = std::function<Result(const Notification&)>;
/// Handles a batch of notifications, all of one priority, in arrival order.
using BatchHandler = std::function<Result(std::span<const Notification* const>)>;

/// An object that handles notifications of the priorities it declares, optionally filtered.
/// A server subscribes only to the priorities its endpoints declare.
///
/// ```cpp
/// herald::Endpoint audit{"audit"};
/// audit.filter(herald::Filter{}.publisher_id(R"(compute\.)"))
///      .on(herald::Priority::info, [](const herald::Notification& n) { return herald::Result::handled; });
/// ```
/// **Thread safety:** configure before handing it to a server; afterwards handlers are called
/// concurrently from worker threads, so they must be thread-safe themselves.
template <typename HandlerT>
class BasicEndpoint {
 public:
  explicit BasicEndpoint(std::string name = "endpoint") : name_(std::move(name)) {}

  /// Sets the filter; notifications that do not match are skipped (and acked by the server).
  BasicEndpoint& filter(Filter rule) {
    filter_ = std::move(rule);
    return *this;
  }
  /// Sets the handler for `priority` (replacing an earlier one).
  BasicEndpoint& on(Priority priority, HandlerT handler) {
    handlers_[index_of(priority)] = std::move(handler);
    return *this;
  }
  /// Sets the same handler for several priorities.
  BasicEndpoint& on(std::initializer_list<Priority> priorities, const HandlerT& handler) {
    return on(std::span<const Priority>(priorities.begin(), priorities.size()), handler);
  }
  /// Sets the same handler for several priorities.
  BasicEndpoint& on(std::span<const Priority> priorities, const HandlerT& handler) {
    for (Priority p : priorities) handlers_[index_of(p)] = handler;
    return *this;
  }

  const std::string& name() const noexcept { return name_; }
  const Filter& filter() const noexcept { return filter_; }
  /// The handler for `priority`, or null when the endpoint does not handle it.
  const HandlerT* handler(Priority priority) const noexcept {
    const auto& h = handlers_[index_of(priority)];
    return h ? &h : nullptr;
  }
  /// The priorities this endpoint handles, in oslo order.
  std::vector<Priority> priorities() const {
    std::vector<Priority> out;
    for (Priority p : kAllPriorities)
      if (handlers_[index_of(p)]) out.push_back(p);
    return out;
  }

 private:
  std::string name_;
  Filter filter_;
  std::array<HandlerT, kPriorityCount> handlers_{};
};

/// Endpoint receiving one notification per call.
using Endpoint = BasicEndpoint<Handler>;
/// Endpoint receiving batches (see NotificationServer options batch_size / batch_timeout).
using BatchEndpoint = BasicEndpoint<BatchHandler>;

}  // namespace herald
