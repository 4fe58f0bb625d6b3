#pragma once
/// @file target.hpp

#include <string>

namespace herald {

/// Where notifications go or come from: a topic on an exchange.
/// Notifications for priority P travel with routing key `<topic>.<p>`.
/// **Thread safety:** a plain value type.
struct Target {
  /// Topic base name; required, e.g. "notifications".
  std::string topic = "notifications";
  /// Exchange; empty means the transport's control exchange (default "openstack").
  std::string exchange;
};

}  // namespace herald
