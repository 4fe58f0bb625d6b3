#pragma once
// A transport URL being completed from configuration: parsed once, changed, written back.

#include <herald/transport_url.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::detail {

class UrlBuilder {
 public:
  UrlBuilder() = default;
  /// Parses `url` (TransportUrl::parse, so `rabbit://` is read as `amqp://`).
  /// @throws ConfigError(Errc::invalid_url) with the password masked.
  explicit UrlBuilder(const std::string& url);

  /// "memory", "amqp" or "amqps".
  const std::string& scheme() const noexcept { return scheme_; }
  bool tls() const noexcept { return scheme_ == "amqps"; }
  /// amqp:// → amqps://. As oslo's `ssl = true`, the port does not change: hosts without one
  /// get 5672 explicitly.
  void use_tls();
  /// For a URL written `rabbit://`: renames oslo `[oslo_messaging_rabbit]` query options to
  /// Herald's (`heartbeat_timeout_threshold` → `idle_timeout`, `ssl=true` → amqps, ...), and
  /// removes the ones Herald does not implement, returning their names.
  /// @throws ConfigError for a bad value.
  std::vector<std::string> translate_oslo_query();
  /// Sets query option `key`, replacing it.
  void set(std::string_view key, std::string_view value);
  /// Sets query option `key` unless the URL already has it.
  void set_default(std::string_view key, std::string_view value);
  /// The URL, percent-encoded, password included.
  std::string str() const;
  /// TransportUrl::to_string() of it: passwords and secret-looking query values as `****`.
  std::string masked() const;

 private:
  std::string scheme_;
  bool written_as_rabbit_ = false;
  std::vector<TransportHost> hosts_;
  std::string virtual_host_;
  std::vector<std::pair<std::string, std::string>> query_;
};

}  // namespace herald::detail
