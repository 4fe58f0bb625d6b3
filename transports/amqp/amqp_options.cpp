#include "transports/amqp/amqp_options.hpp"

#include <herald/error.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string_view>

namespace herald::detail {
namespace {

[[noreturn]] void bad_option(std::string_view key, std::string_view value, std::string_view expected) {
  throw ConfigError("transport_url: option '" + std::string(key) + "' has bad value '" + std::string(value) +
                    "' (expected " + std::string(expected) + ")");
}

bool parse_bool(std::string_view key, std::string_view value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  bad_option(key, value, "true or false");
}

std::uint64_t parse_count(std::string_view key, std::string_view value, std::uint64_t min, std::uint64_t max) {
  std::uint64_t result = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), result);
  if (ec != std::errc{} || end != value.data() + value.size() || result < min || result > max)
    bad_option(key, value, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return result;
}

// A non-negative 64-bit integer (0 = unset), as oslo's integer options.
std::int64_t parse_integer(std::string_view key, std::string_view value) {
  return static_cast<std::int64_t>(parse_count(key, value, 0, static_cast<std::uint64_t>(INT64_MAX)));
}

// Seconds as a decimal number ("0.5", "30"), like oslo's options.
std::chrono::milliseconds parse_seconds(std::string_view key, std::string_view value) {
  std::string text(value);
  char* end = nullptr;
  double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds < 0 || seconds > 86400.0)
    bad_option(key, value, "seconds, e.g. 2 or 0.5");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

using Setter = std::function<void(AmqpOptions&, std::string_view key, std::string_view value)>;

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"idle_timeout", [](AmqpOptions& o, auto k, auto v) { o.idle_timeout = parse_seconds(k, v); }},
      {"heartbeat", [](AmqpOptions& o, auto k, auto v) { o.idle_timeout = parse_seconds(k, v); }},
      {"reconnect_delay", [](AmqpOptions& o, auto k, auto v) { o.reconnect_delay = parse_seconds(k, v); }},
      {"reconnect_max_delay", [](AmqpOptions& o, auto k, auto v) { o.reconnect_max_delay = parse_seconds(k, v); }},
      {"connect_timeout", [](AmqpOptions& o, auto k, auto v) { o.connect_timeout = parse_seconds(k, v); }},
      {"detach_timeout", [](AmqpOptions& o, auto k, auto v) { o.detach_timeout = parse_seconds(k, v); }},
      {"sasl_mechanisms", [](AmqpOptions& o, auto, auto v) { o.sasl_mechanisms = std::string(v); }},
      {"ssl_ca_file", [](AmqpOptions& o, auto, auto v) { o.ssl_ca_file = std::string(v); }},
      {"ssl_cert_file", [](AmqpOptions& o, auto, auto v) { o.ssl_cert_file = std::string(v); }},
      {"ssl_key_file", [](AmqpOptions& o, auto, auto v) { o.ssl_key_file = std::string(v); }},
      {"ssl_verify", [](AmqpOptions& o, auto k, auto v) { o.ssl_verify = parse_bool(k, v); }},
      {"delivery",
       [](AmqpOptions& o, auto k, auto v) {
         if (v == "at_least_once")
           o.delivery = DeliveryGuarantee::at_least_once;
         else if (v == "at_most_once")
           o.delivery = DeliveryGuarantee::at_most_once;
         else
           bad_option(k, v, "at_least_once or at_most_once");
       }},
      {"in_flight_window",
       [](AmqpOptions& o, auto k, auto v) { o.in_flight_window = parse_count(k, v, 1, 1'000'000); }},
      {"max_buffer_bytes",
       [](AmqpOptions& o, auto k, auto v) { o.max_buffer_bytes = parse_count(k, v, 1024, 1ULL << 40); }},
      {"overflow",
       [](AmqpOptions& o, auto k, auto v) {
         if (v == "block")
           o.overflow = OverflowPolicy::block;
         else if (v == "fail")
           o.overflow = OverflowPolicy::fail;
         else
           bad_option(k, v, "block or fail");
       }},
      {"auth_retry_delay", [](AmqpOptions& o, auto k, auto v) { o.auth_retry_delay = parse_seconds(k, v); }},
      {"declare_timeout", [](AmqpOptions& o, auto k, auto v) { o.declare_timeout = parse_seconds(k, v); }},
      {"declare_attempts",
       [](AmqpOptions& o, auto k, auto v) { o.declare_attempts = static_cast<int>(parse_count(k, v, 1, 1000)); }},
      {"topology_check_interval",
       [](AmqpOptions& o, auto k, auto v) { o.topology_check_interval = parse_seconds(k, v); }},
      {"durable_messages", [](AmqpOptions& o, auto k, auto v) { o.durable_messages = parse_bool(k, v); }},
      {"credit_window", [](AmqpOptions& o, auto k, auto v) { o.credit_window = parse_count(k, v, 1, 1'000'000); }},
      {"topology",
       [](AmqpOptions& o, auto k, auto v) {
         if (v == "management")
           o.topology = TopologyMode::management;
         else if (v == "none")
           o.topology = TopologyMode::none;
         else
           bad_option(k, v, "management or none");
       }},
      {"management_port", [](AmqpOptions& o, auto k,
                             auto v) { o.management_port = static_cast<std::uint16_t>(parse_count(k, v, 1, 65535)); }},
      {"address_format",
       [](AmqpOptions& o, auto k, auto v) {
         if (v == "auto")
           o.address_format = AddressFormat::automatic;
         else if (v == "v1")
           o.address_format = AddressFormat::v1;
         else if (v == "v2")
           o.address_format = AddressFormat::v2;
         else
           bad_option(k, v, "auto, v1 or v2");
       }},
      {"amqp_durable_queues", [](AmqpOptions& o, auto k, auto v) { o.durable_queues = parse_bool(k, v); }},
      {"rabbit_quorum_queue", [](AmqpOptions& o, auto k, auto v) { o.quorum_queues = parse_bool(k, v); }},
      {"rabbit_quorum_delivery_limit",
       [](AmqpOptions& o, auto k, auto v) { o.quorum_delivery_limit = parse_integer(k, v); }},
      {"rabbit_quorum_max_memory_length",
       [](AmqpOptions& o, auto k, auto v) { o.quorum_max_memory_length = parse_integer(k, v); }},
      {"rabbit_quorum_max_memory_bytes",
       [](AmqpOptions& o, auto k, auto v) { o.quorum_max_memory_bytes = parse_integer(k, v); }},
      {"max_length", [](AmqpOptions& o, auto k, auto v) { o.max_length = parse_integer(k, v); }},
      {"max_length_bytes", [](AmqpOptions& o, auto k, auto v) { o.max_length_bytes = parse_integer(k, v); }},
      {"queue_overflow",
       [](AmqpOptions& o, auto k, auto v) {
         if (v != "drop-head" && v != "reject-publish" && v != "reject-publish-dlx")
           bad_option(k, v, "drop-head, reject-publish or reject-publish-dlx");
         o.overflow_behaviour = std::string(v);
       }},
      {"rabbit_transient_queues_ttl",
       [](AmqpOptions& o, auto k, auto v) {
         o.transient_queues_ttl = parse_seconds(k, v);
         if (o.transient_queues_ttl.count() == 0) bad_option(k, v, "a positive number of seconds");
       }},
      {"dead_letter_exchange", [](AmqpOptions& o, auto, auto v) { o.dead_letter_exchange = std::string(v); }},
      {"dead_letter_queue", [](AmqpOptions& o, auto, auto v) { o.dead_letter_queue = std::string(v); }},
  };
  return table;
}

}  // namespace

std::string AmqpHost::address() const {
  // IPv6 literals need brackets in Proton's "host:port".
  if (hostname.find(':') != std::string::npos) return "[" + hostname + "]:" + std::to_string(port);
  return hostname + ":" + std::to_string(port);
}

AmqpOptions parse_amqp_options(const TransportUrl& url, const TransportOptions& options) {
  AmqpOptions result;
  result.tls = url.scheme() == "amqps";
  result.virtual_host = url.virtual_host();
  result.control_exchange = options.control_exchange;
  result.send_timeout = options.send_timeout;
  const std::uint16_t default_port = result.tls ? 5671 : 5672;
  for (const TransportHost& host : url.hosts())
    result.hosts.push_back({host.hostname, host.port ? host.port : default_port, host.username, host.password});
  if (result.hosts.empty()) throw ConfigError(Errc::invalid_url, "transport_url: no host given");

  for (const auto& [key, value] : url.options()) {
    auto it = setters().find(key);
    if (it == setters().end()) throw ConfigError("transport_url: unknown option '" + key + "' for amqp://");
    it->second(result, key, value);
  }
  if (result.declare_timeout.count() == 0)
    throw ConfigError("transport_url: option 'declare_timeout' must be positive");
  if (result.reconnect_max_delay < result.reconnect_delay) result.reconnect_max_delay = result.reconnect_delay;
  if (result.management_port == 0) {
    // No default above AMQP port 55535: stays 0, and only a use of the management API (RabbitMQ
    // 3.x declarations, herald dlq) fails, saying to set management_port (management_call()).
    unsigned port = result.hosts.front().port + 10000u;
    if (port <= 65535) result.management_port = static_cast<std::uint16_t>(port);
  }
  if (!result.dead_letter_exchange.empty() && result.dead_letter_queue.empty())
    result.dead_letter_queue = result.dead_letter_exchange + ".queue";
  if (result.dead_letter_exchange.empty() && !result.dead_letter_queue.empty())
    throw ConfigError("transport_url: option 'dead_letter_queue' needs 'dead_letter_exchange'");
  for (const auto& [key, file] : {std::pair<const char*, const std::string&>{"ssl_ca_file", result.ssl_ca_file},
                                  {"ssl_cert_file", result.ssl_cert_file},
                                  {"ssl_key_file", result.ssl_key_file}}) {
    if (file.empty()) continue;
    if (!result.tls) throw ConfigError(std::string("transport_url: option '") + key + "' needs the amqps:// scheme");
    // Fail at open, naming the option, rather than at every connection attempt.
    if (std::ifstream probe(file); !probe)
      throw ConfigError(std::string("transport_url: option '") + key + "': cannot read '" + file +
                        "': " + std::strerror(errno));
  }
  if (result.ssl_cert_file.empty() != result.ssl_key_file.empty())
    throw ConfigError(
        "transport_url: options 'ssl_cert_file' and 'ssl_key_file' go together (a client certificate "
        "and its private key)");
  return result;
}

std::string explain_tls_failure(const std::string& proton_text, const std::string& host, const std::string& ca_file) {
  // Keep Proton's text from "SSL Failure" on: it carries OpenSSL's reason.
  auto at = proton_text.find("SSL Failure");
  const std::string detail = at == std::string::npos ? proton_text : proton_text.substr(at);
  // OpenSSL says "certificate verify failed" both for an unknown CA and for a certificate that
  // names another host (Proton checks the name in the same step).
  if (detail.find("certificate verify failed") != std::string::npos)
    return "TLS: certificate verification failed: the broker's certificate is not signed by a CA in " +
           (ca_file.empty() ? std::string("the system's trust store") : "ssl_ca_file '" + ca_file + "'") +
           ", or does not name host '" + host + "' (" + detail + ")";
  // The broker's alert: it did not accept the client's certificate (or wanted one).
  if (detail.find("alert") != std::string::npos &&
      (detail.find("certificate") != std::string::npos || detail.find("unknown ca") != std::string::npos))
    return "TLS: the broker refused the client certificate (ssl_cert_file) (" + detail + ")";
  return "TLS: handshake failed (" + detail + ")";
}

}  // namespace herald::detail
