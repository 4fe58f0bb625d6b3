#pragma once
/// @file prometheus.hpp
/// Opt-in bridge to prometheus-cpp, for applications that already have a `prometheus::Registry`.
///
/// This is the only public header that includes a third-party type other than RapidJSON; it is
/// not part of `herald.hpp`. Include it only when your program uses prometheus-cpp (Debian
/// `prometheus-cpp-dev`, CMake target `prometheus-cpp::core`) itself.

#include <herald/metrics.hpp>

#include <prometheus/registry.h>

#include <memory>

namespace herald {

/// A Metrics handle registering Herald's series in `registry` (which the application exposes
/// with its own `prometheus::Exposer` or serializer). Herald keeps the registry alive.
/// @throws ArgumentError when `registry` is null, or ConfigError when it
///         already has a family of one of Herald's names with another type.
/// **Thread safety:** thread-safe.
std::shared_ptr<Metrics> make_metrics(std::shared_ptr<prometheus::Registry> registry);

/// The registry behind `metrics` (for example to add the application's own series to a
/// registry Metrics::create() made).
/// **Thread safety:** thread-safe.
std::shared_ptr<prometheus::Registry> registry_of(const Metrics& metrics);

}  // namespace herald
