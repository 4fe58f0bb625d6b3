#pragma once
// Options of the amqp:// driver, parsed once from the transport URL query (docs/amqp.md).

#include <herald/transport.hpp>
#include <herald/transport_url.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace herald::detail {

/// One broker endpoint of the failover list, credentials included.
struct AmqpHost {
  std::string hostname;
  std::uint16_t port = 0;
  std::string username;
  std::string password;
  /// "host:port" for Proton (no credentials: those go through connection_options).
  std::string address() const;
};

enum class DeliveryGuarantee { at_least_once, at_most_once };
enum class TopologyMode { management, none };
/// What a send does when the bounded send buffer is full.
enum class OverflowPolicy { block, fail };

/// Every knob of the amqp driver with its default. Built by parse_amqp_options().
struct AmqpOptions {
  bool tls = false;             ///< amqps://
  std::vector<AmqpHost> hosts;  ///< failover list, tried in order
  std::string virtual_host;     ///< empty = the broker's default vhost ("/")
  std::string control_exchange = "openstack";
  std::chrono::milliseconds send_timeout{10'000};

  // Connection.
  std::chrono::milliseconds idle_timeout{60'000};         ///< `idle_timeout` (s); heartbeat; 0 = off
  std::chrono::milliseconds reconnect_delay{100};         ///< `reconnect_delay` (s): first backoff step
  std::chrono::milliseconds reconnect_max_delay{10'000};  ///< `reconnect_max_delay` (s)
  std::chrono::milliseconds connect_timeout{10'000};      ///< `connect_timeout` (s): listen() waits this long
  std::chrono::milliseconds detach_timeout{2'000};        ///< `detach_timeout` (s): RabbitMQ may need 30 s
  std::string sasl_mechanisms;                            ///< `sasl_mechanisms`; default PLAIN with credentials
  std::string ssl_ca_file;                                ///< `ssl_ca_file` (amqps)
  bool ssl_verify = true;                                 ///< `ssl_verify` (amqps)

  // Send path.
  DeliveryGuarantee delivery = DeliveryGuarantee::at_least_once;  ///< `delivery`
  std::size_t in_flight_window = 1000;                            ///< `in_flight_window`: messages waiting
  std::size_t max_buffer_bytes = 64u << 20;                       ///< `max_buffer_bytes`: bytes waiting
  OverflowPolicy overflow = OverflowPolicy::block;                ///< `overflow` = block | fail
  std::chrono::milliseconds auth_retry_delay{30'000};             ///< `auth_retry_delay` (s)
  bool durable_messages = true;                                   ///< `durable_messages` (delivery_mode 2)

  // Listen path.
  std::size_t credit_window = 0;  ///< `credit_window`; 0 = take ListenSpec::credit_window

  // Topology.
  TopologyMode topology = TopologyMode::management;          ///< `topology` = management | none
  std::uint16_t management_port = 0;                         ///< `management_port`; 0 = AMQP port + 10000
  bool durable_queues = false;                               ///< `amqp_durable_queues` (exchange and queues)
  std::string dead_letter_exchange;                          ///< `dead_letter_exchange`; empty = none (oslo)
  std::string dead_letter_queue;                             ///< `dead_letter_queue`; default "<dlx>.queue"
  std::chrono::milliseconds declare_timeout{5'000};          ///< `declare_timeout` (s): HTTP connect + answer
  int declare_attempts = 5;                                  ///< `declare_attempts`: refusals before sends fail
  std::chrono::milliseconds topology_check_interval{1'000};  ///< `topology_check_interval` (s); 0 = off
};

/// Parses and validates the URL and common options.
/// @throws ConfigError naming the offending query option.
AmqpOptions parse_amqp_options(const TransportUrl& url, const TransportOptions& options);

}  // namespace herald::detail
