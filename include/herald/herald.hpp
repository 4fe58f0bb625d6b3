#pragma once
/// @file herald.hpp
/// Umbrella header: the whole public API.

#include <herald/codec.hpp>
#include <herald/config.hpp>
#include <herald/dead_letters.hpp>
#include <herald/dispatcher.hpp>
#include <herald/endpoint.hpp>
#include <herald/error.hpp>
#include <herald/filter.hpp>
#include <herald/metrics.hpp>
#include <herald/notification.hpp>
#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/outbox.hpp>
#include <herald/priority.hpp>
#include <herald/target.hpp>
#include <herald/topology.hpp>
#include <herald/transport.hpp>
#include <herald/transport_url.hpp>
