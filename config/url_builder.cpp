#include "config/url_builder.hpp"

#include "config/oslo_options.hpp"

#include <herald/error.hpp>

#include <algorithm>
#include <cctype>

namespace herald::detail {
namespace {

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

bool query_bool(std::string_view key, std::string_view value) {
  if (std::optional<bool> parsed = parse_oslo_bool(value)) return *parsed;
  throw ConfigError("query option '" + std::string(key) + "' has bad value '" + std::string(value) +
                    "' (expected true or false)");
}

}  // namespace

UrlBuilder::UrlBuilder(const std::string& url) {
  const TransportUrl parsed = TransportUrl::parse(url);
  scheme_ = parsed.scheme();
  written_as_rabbit_ = url.starts_with("rabbit://");
  hosts_ = parsed.hosts();
  virtual_host_ = parsed.virtual_host();
  for (const auto& [key, value] : parsed.options()) query_.emplace_back(key, value);
}

void UrlBuilder::use_tls() {
  if (scheme_ != "amqp") return;
  scheme_ = "amqps";
  for (TransportHost& host : hosts_)
    if (host.port == 0) host.port = 5672;
}

std::vector<std::string> UrlBuilder::translate_oslo_query() {
  std::vector<std::string> dropped;
  if (!written_as_rabbit_) return dropped;
  std::vector<std::pair<std::string, std::string>> kept;
  bool tls = false;
  for (auto& [key, value] : query_) {
    const OptionSpec* spec = find_option(kRabbitGroup, key);
    if (!spec) {
      kept.emplace_back(key, value);  // Herald's own option, or unknown: the driver decides
    } else if (spec->use == OptionUse::not_implemented) {
      dropped.push_back(key);
    } else if (key == "ssl") {
      tls = query_bool(key, value);
    } else if (spec->use == OptionUse::query) {
      std::string herald_value = value;
      if (spec->type == OptionType::boolean) herald_value = query_bool(key, value) ? "true" : "false";
      if (key == "rabbit_login_method") {
        std::optional<std::string> mechanism = sasl_mechanism_for(value);
        if (!mechanism) throw ConfigError("query option 'rabbit_login_method' has bad value '" + value + "'");
        herald_value = *mechanism;
      }
      kept.emplace_back(std::string(spec->query_key), herald_value);
    } else {
      kept.emplace_back(key, value);
    }
  }
  query_ = std::move(kept);
  if (tls) use_tls();
  return dropped;
}

void UrlBuilder::set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : query_) {
    if (k == key) {
      v = std::string(value);
      return;
    }
  }
  query_.emplace_back(std::string(key), std::string(value));
}

void UrlBuilder::set_default(std::string_view key, std::string_view value) {
  for (const auto& entry : query_)
    if (entry.first == key) return;
  query_.emplace_back(std::string(key), std::string(value));
}

std::string UrlBuilder::str() const {
  std::string out = scheme_ + "://";
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const TransportHost& host = hosts_[i];
    if (i) out += ',';
    if (!host.username.empty() || !host.password.empty()) {
      out += percent_encode(host.username);
      if (!host.password.empty()) out += ':' + percent_encode(host.password);
      out += '@';
    }
    out += host.hostname.find(':') != std::string::npos ? "[" + host.hostname + "]" : host.hostname;
    if (host.port) out += ':' + std::to_string(host.port);
  }
  out += '/';
  out += percent_encode(virtual_host_);
  char separator = '?';
  for (const auto& [key, value] : query_) {
    out += separator;
    out += percent_encode(key) + '=' + percent_encode(value);
    separator = '&';
  }
  return out;
}

// One masking rule for every printed URL: TransportUrl's.
std::string UrlBuilder::masked() const { return TransportUrl::parse(str()).to_string(); }

}  // namespace herald::detail
