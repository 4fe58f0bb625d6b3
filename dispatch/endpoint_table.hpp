#pragma once
// Shared by Dispatcher and BatchDispatcher: per-priority endpoint lists and guarded handler calls.

#include <herald/endpoint.hpp>

#include <spdlog/logger.h>

#include <array>
#include <cstddef>
#include <exception>
#include <string>
#include <vector>

namespace herald::detail {

/// Per priority, the indexes of the endpoints with a handler for it, in list order.
using EndpointTable = std::array<std::vector<std::size_t>, kPriorityCount>;

/// Builds the table once, so that dispatch never scans endpoints without a handler.
template <typename HandlerT>
EndpointTable make_endpoint_table(const std::vector<BasicEndpoint<HandlerT>>& endpoints) {
  EndpointTable table;
  for (std::size_t i = 0; i < endpoints.size(); ++i)
    for (Priority priority : kAllPriorities)
      if (endpoints[i].handler(priority) != nullptr) table[index_of(priority)].push_back(i);
  return table;
}

/// The priorities with at least one endpoint, in oslo order.
inline std::vector<Priority> table_priorities(const EndpointTable& table) {
  std::vector<Priority> out;
  for (Priority priority : kAllPriorities)
    if (!table[index_of(priority)].empty()) out.push_back(priority);
  return out;
}

/// Runs `call` (returning Result); an exception is logged once and becomes Result::requeue,
/// as oslo treats a raising callback. Only the exception text is logged, never the payload.
template <typename Call>
Result call_guarded(spdlog::logger& logger, const std::string& endpoint_name, Call&& call) noexcept {
  try {
    return call();
  } catch (const std::exception& error) {
    logger.warn("endpoint '{}' raised: {}", endpoint_name, error.what());
  } catch (...) {
    logger.warn("endpoint '{}' raised: unknown exception", endpoint_name);
  }
  return Result::requeue;
}

}  // namespace herald::detail
