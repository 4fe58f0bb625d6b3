#pragma once
// Factories of the built-in drivers, called by Transport::open.

#include "drivers/driver.hpp"

#include <herald/transport.hpp>

#include <memory>

namespace herald::detail {

/// memory:// — options from the URL query (see drivers/memory/memory_driver.hpp).
std::unique_ptr<Driver> make_memory_driver(const TransportUrl& url, const TransportOptions& options);

/// amqp:// and amqps:// — Qpid Proton C++ (drivers/amqp). Throws ConfigError when Herald was
/// built without HERALD_BUILD_AMQP.
std::unique_ptr<Driver> make_amqp_driver(const TransportUrl& url, const TransportOptions& options);

}  // namespace herald::detail
