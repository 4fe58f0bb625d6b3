#pragma once
// A minimal HTTP/1.1 client for `herald route` webhooks: one POST per call on a new connection,
// plain http only (no TLS), with a connect timeout and a timeout for the whole request.

#include <chrono>
#include <string>

namespace herald::route {

/// A parsed http:// URL.
struct HttpUrl {
  std::string host;
  std::string port = "80";
  std::string target = "/";  ///< path and query
  /// "http://host:port/target", for messages.
  std::string to_string() const;
};

/// Parses "http://host[:port][/path][?query]" ("[v6]:port" too).
/// @throws ConfigError for anything else (https included: not supported).
HttpUrl parse_http_url(const std::string& url);

/// What a POST gave.
struct HttpOutcome {
  int status = 0;     ///< HTTP status; 0 when no response came
  std::string error;  ///< why, when status is 0 (timeout, refused...)
  bool success() const noexcept { return status >= 200 && status < 300; }
};

/// POSTs `body` (application/json) to `url`. Never throws for network errors: they come back
/// in the outcome. **Thread safety:** re-entrant; every call has its own io_context and socket.
HttpOutcome http_post(const HttpUrl& url, const std::string& body, std::chrono::milliseconds connect_timeout,
                      std::chrono::milliseconds timeout);

}  // namespace herald::route
