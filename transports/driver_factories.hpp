#pragma once
// Factories of the built-in drivers, called by Transport::open.

#include "transports/transport_driver.hpp"

#include <herald/transport.hpp>

#include <memory>

namespace herald::detail {

/// memory:// — options from the URL query (see transports/memory/memory_driver.hpp).
std::unique_ptr<TransportDriver> make_memory_driver(const TransportUrl& url, const TransportOptions& options);

/// amqp:// and amqps:// — Qpid Proton C++ (transports/amqp). Throws ConfigError when Herald was
/// built without HERALD_BUILD_AMQP.
std::unique_ptr<TransportDriver> make_amqp_driver(const TransportUrl& url, const TransportOptions& options);

}  // namespace herald::detail
