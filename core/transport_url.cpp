#include "core/json_escape.hpp"
#include "core/secret_names.hpp"

#include <herald/error.hpp>
#include <herald/transport_url.hpp>

#include <charconv>

namespace herald {
namespace {

[[noreturn]] void fail(std::string_view url_for_message, const std::string& why) {
  throw ConfigError(Errc::invalid_url, "transport_url: " + why + " (in '" + std::string(url_for_message) + "')");
}

std::string percent_decode(std::string_view text, std::string_view masked_url, const char* field) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) fail(masked_url, std::string("truncated %-escape in ") + field);
    int hi = detail::hex_digit(text[i + 1]);
    int lo = detail::hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) fail(masked_url, std::string("bad %-escape in ") + field);
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Masks "user:password@" parts of a raw URL so parse errors never print a password.
std::string mask_raw(std::string_view url) {
  std::string out(url);
  std::size_t scheme_end = out.find("://");
  std::size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  std::size_t path = out.find_first_of("/?", start);
  std::string hosts = out.substr(start, path == std::string::npos ? std::string::npos : path - start);
  std::string masked;
  std::size_t pos = 0;
  while (pos <= hosts.size()) {
    std::size_t comma = hosts.find(',', pos);
    std::string part = hosts.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    std::size_t at = part.rfind('@');
    if (at != std::string::npos) {
      std::size_t colon = part.find(':');
      if (colon != std::string::npos && colon < at) part = part.substr(0, colon + 1) + "****" + part.substr(at);
    }
    masked += part;
    if (comma == std::string::npos) break;
    masked += ',';
    pos = comma + 1;
  }
  return out.substr(0, start) + masked + (path == std::string::npos ? "" : out.substr(path));
}

TransportHost parse_host(std::string_view part, std::string_view masked_url) {
  TransportHost host;
  std::size_t at = part.rfind('@');  // the username may itself contain '@' (oslo rsplits)
  std::string_view address = part;
  if (at != std::string_view::npos) {
    std::string_view credentials = part.substr(0, at);
    address = part.substr(at + 1);
    std::size_t colon = credentials.find(':');
    host.username = percent_decode(credentials.substr(0, colon), masked_url, "username");
    if (colon != std::string_view::npos)
      host.password = percent_decode(credentials.substr(colon + 1), masked_url, "password");
  }
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    std::size_t close = address.find(']');
    if (close == std::string_view::npos) fail(masked_url, "unterminated IPv6 address");
    host.hostname = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') fail(masked_url, "unexpected text after IPv6 address");
      port_text = rest.substr(1);
    }
  } else {
    std::size_t colon = address.rfind(':');
    host.hostname = std::string(address.substr(0, colon));
    if (colon != std::string_view::npos) port_text = address.substr(colon + 1);
  }
  if (host.hostname.empty()) fail(masked_url, "empty host name");
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 || value > 65535)
      fail(masked_url, "bad port '" + std::string(port_text) + "'");
    host.port = static_cast<std::uint16_t>(value);
  }
  return host;
}

}  // namespace

TransportUrl TransportUrl::parse(std::string_view url) {
  const std::string masked = mask_raw(url);
  TransportUrl result;
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) fail(masked, "missing '://'");
  result.scheme_ = std::string(url.substr(0, scheme_end));
  // oslo's rabbit:// means RabbitMQ; Herald reaches it over AMQP 1.0, so it is amqp://.
  const bool rabbit = result.scheme_ == "rabbit";
  if (rabbit) result.scheme_ = "amqp";
  if (result.scheme_ != "memory" && result.scheme_ != "amqp" && result.scheme_ != "amqps")
    fail(masked, "unknown scheme '" + result.scheme_ + "' (expected memory, amqp, amqps or rabbit)");

  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view query;
  if (std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view hosts = rest;
  if (std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hosts = rest.substr(0, slash);
    result.virtual_host_ = percent_decode(rest.substr(slash + 1), masked, "virtual host");
  }
  if (!hosts.empty()) {
    std::size_t pos = 0;
    while (true) {
      std::size_t comma = hosts.find(',', pos);
      result.hosts_.push_back(
          parse_host(hosts.substr(pos, comma == std::string_view::npos ? comma : comma - pos), masked));
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  if (rabbit) {
    // As oslo: a bare rabbit:// is guest:guest@localhost:5672, and a host without credentials
    // uses guest:guest.
    if (result.hosts_.empty()) result.hosts_.push_back({"localhost", 5672, "", ""});
    for (TransportHost& host : result.hosts_) {
      if (host.username.empty() && host.password.empty()) {
        host.username = "guest";
        host.password = "guest";
      }
    }
  }
  if (result.scheme_ != "memory" && result.hosts_.empty()) fail(masked, "no host given");

  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t amp = query.find('&', pos);
    std::string_view pair = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (!pair.empty()) {
      std::size_t eq = pair.find('=');
      std::string key = percent_decode(pair.substr(0, eq), masked, "query key");
      if (key.empty()) fail(masked, "empty query key");
      std::string value =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), masked, "query value");
      result.options_[key] = std::move(value);
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return result;
}

std::string TransportUrl::option(std::string_view key, std::string_view fallback) const {
  auto it = options_.find(key);
  return it == options_.end() ? std::string(fallback) : it->second;
}

std::string TransportUrl::to_string() const {
  std::string out = scheme_ + "://";
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const TransportHost& host = hosts_[i];
    if (i) out += ',';
    if (!host.username.empty() || !host.password.empty()) {
      out += host.username;
      if (!host.password.empty()) out += ":****";
      out += '@';
    }
    out += host.hostname.find(':') != std::string::npos ? "[" + host.hostname + "]" : host.hostname;
    if (host.port) out += ':' + std::to_string(host.port);
  }
  out += '/';
  out += virtual_host_;
  char sep = '?';
  for (const auto& [key, value] : options_) {
    out += sep;
    // Secret-looking options (e.g. a key passphrase) are masked like passwords.
    out += key + '=' + (detail::is_secret_name(key) ? std::string("****") : value);
    sep = '&';
  }
  return out;
}

}  // namespace herald
