#pragma once
/// @file transport_url.hpp

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

/// One broker host of a transport URL.
struct TransportHost {
  std::string hostname;    ///< host name or address; IPv6 without brackets
  std::uint16_t port = 0;  ///< 0 when the URL gave none (the driver picks its default)
  std::string username;    ///< percent-decoded; empty when absent
  std::string password;    ///< percent-decoded; empty when absent
};

/// A parsed transport URL:
/// `scheme://[user[:pass]@]host[:port][,[user[:pass]@]host[:port]...]/[vhost][?key=value&...]`.
///
/// Schemes: `memory`, `amqp`, `amqps`, and `rabbit` (oslo's name: RabbitMQ, which Herald
/// reaches over AMQP 1.0, so scheme() is then `amqp`; a bare `rabbit://` is
/// `guest:guest@localhost:5672`, and hosts without credentials get `guest:guest`, as in oslo).
/// Several comma-separated hosts form a failover list.
/// User, password and vhost are percent-decoded. `/` or no path gives an empty vhost (the
/// driver's default, "/" on RabbitMQ); `//` and `/%2F` give "/". Repeated query keys keep the
/// last value. Passwords never appear in `to_string()`.
///
/// **Thread safety:** a value type.
class TransportUrl {
 public:
  /// Parses a URL.
  /// @throws ConfigError(Errc::invalid_url) naming the problem (unknown scheme, bad port, ...).
  static TransportUrl parse(std::string_view url);

  const std::string& scheme() const noexcept { return scheme_; }
  const std::vector<TransportHost>& hosts() const noexcept { return hosts_; }
  const std::string& virtual_host() const noexcept { return virtual_host_; }
  /// Query options, percent-decoded.
  const std::map<std::string, std::string, std::less<>>& options() const noexcept { return options_; }
  /// The value of query option `key`, or `fallback` when absent.
  std::string option(std::string_view key, std::string_view fallback = {}) const;

  /// The URL with every password, and the value of every query option whose name contains
  /// `password`, `passphrase`, `secret` or `token`, replaced by `****`; safe to log.
  std::string to_string() const;

 private:
  std::string scheme_;
  std::vector<TransportHost> hosts_;
  std::string virtual_host_;
  std::map<std::string, std::string, std::less<>> options_;
};

}  // namespace herald
