#pragma once
// One HTTP(S) exchange with the RabbitMQ management API (Boost.Beast, OpenSSL for https), used
// by the 3.x declarations (ManagementClient) and by `herald dlq` on RabbitMQ. The whole exchange
// (resolve, connect, TLS handshake, write, read) is bounded by one deadline.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::detail {

/// TLS for the management API: used when the transport URL is amqps:// (docs/amqp.md).
struct HttpTls {
  bool enabled = false;
  std::string ca_file;    ///< PEM CA bundle; empty = the system's trust store
  std::string cert_file;  ///< client certificate (PEM), with key_file; empty = none
  std::string key_file;
  bool verify = true;  ///< verify the server's certificate and host name
};

/// An HTTP endpoint with credentials; one per broker host.
struct ManagementEndpoint {
  std::string host;
  std::uint16_t port = 15672;
  std::string username;
  std::string password;
  HttpTls tls;

  /// "https://host:port" or "http://host:port", for messages.
  std::string where() const;
};

/// The answer, or why there was none (`reached` false: `body` says which step failed, e.g.
/// "TLS handshake: certificate verify failed").
struct HttpResponse {
  bool reached = false;
  unsigned status = 0;
  std::string body;
};

/// Sends `method` (GET, PUT, POST, DELETE) `target` with a JSON `body` as the endpoint's user
/// (HTTP basic authentication). Never throws; a response body beyond `body_limit` bytes is a
/// failure. **Thread safety:** reentrant (each call has its own I/O context).
HttpResponse management_call(const ManagementEndpoint& endpoint, std::string_view method, const std::string& target,
                             const std::string& body, std::chrono::milliseconds timeout,
                             std::size_t body_limit = 8 * 1024 * 1024);

}  // namespace herald::detail
