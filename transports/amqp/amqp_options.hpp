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
/// Which RabbitMQ API: v1 = /exchange/X/RK addresses and the management HTTP API (RabbitMQ 3.x);
/// v2 = /exchanges/X/RK addresses and AMQP 1.0 management on the connection (RabbitMQ 4.x);
/// automatic = read the broker's version from its open frame.
enum class AddressFormat { automatic, v1, v2 };
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
  std::string ssl_ca_file;                                ///< `ssl_ca_file` (amqps); empty = system store
  std::string ssl_cert_file;                              ///< `ssl_cert_file` (amqps): client certificate
  std::string ssl_key_file;                               ///< `ssl_key_file` (amqps): its private key
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
  TopologyMode topology = TopologyMode::management;         ///< `topology` = management | none
  AddressFormat address_format = AddressFormat::automatic;  ///< `address_format` = auto | v1 | v2
  std::uint16_t management_port = 0;       ///< `management_port`; default AMQP port + 10000 (0 when that is over 65535)
  bool durable_queues = false;             ///< `amqp_durable_queues` (exchange and queues)
  bool quorum_queues = false;              ///< `rabbit_quorum_queue`: x-queue-type=quorum
  std::int64_t quorum_delivery_limit = 0;  ///< `rabbit_quorum_delivery_limit`: x-delivery-limit
  std::int64_t quorum_max_memory_length = 0;                  ///< `rabbit_quorum_max_memory_length`
  std::int64_t quorum_max_memory_bytes = 0;                   ///< `rabbit_quorum_max_memory_bytes`
  std::int64_t max_length = 0;                                ///< `max_length`: x-max-length (0 = none)
  std::int64_t max_length_bytes = 0;                          ///< `max_length_bytes`: x-max-length-bytes
  std::string overflow_behaviour;                             ///< `queue_overflow`: x-overflow
  std::chrono::milliseconds transient_queues_ttl{1'800'000};  ///< `rabbit_transient_queues_ttl` (s): x-expires
  std::string dead_letter_exchange;                           ///< `dead_letter_exchange`; empty = none (oslo)
  std::string dead_letter_queue;                              ///< `dead_letter_queue`; default "<dlx>.queue"
  std::chrono::milliseconds declare_timeout{5'000};           ///< `declare_timeout` (s): HTTP connect + answer
  int declare_attempts = 5;                                   ///< `declare_attempts`: refusals before sends fail
  std::chrono::milliseconds topology_check_interval{1'000};   ///< `topology_check_interval` (s); 0 = off
};

/// Parses and validates the URL and common options.
/// @throws ConfigError naming the offending query option.
AmqpOptions parse_amqp_options(const TransportUrl& url, const TransportOptions& options);

/// The reason for a failed TLS handshake, from Proton's "SSL Failure: ..." text: says whether
/// the broker's certificate could not be verified (with which CA) or names another host, or
/// the broker refused the client's certificate, and keeps the original text.
std::string explain_tls_failure(const std::string& proton_text, const std::string& host, const std::string& ca_file);

}  // namespace herald::detail
