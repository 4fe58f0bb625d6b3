#include "transports/amqp/management_http.hpp"

#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <functional>
#include <optional>

namespace herald::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

std::string basic_credentials(const ManagementEndpoint& endpoint) {
  std::string plain = endpoint.username + ":" + endpoint.password;
  std::string encoded(beast::detail::base64::encoded_size(plain.size()), '\0');
  encoded.resize(beast::detail::base64::encode(encoded.data(), plain.data(), plain.size()));
  return "Basic " + encoded;
}

std::string describe(const char* step, const beast::error_code& ec) {
  if (ec == beast::error::timeout) return std::string(step) + ": no answer within the deadline";
  return std::string(step) + ": " + ec.message();
}

// Resolve, connect, (handshake,) write, read on `stream`, all asynchronous so that the stream's
// deadline covers every step (Beast enforces tcp_stream timeouts only on asynchronous calls).
// `handshake` is empty for plain HTTP.
template <class Stream>
void exchange(boost::asio::io_context& io, Stream& stream, const ManagementEndpoint& endpoint,
              http::request<http::string_body>& request, http::response_parser<http::string_body>& parser,
              beast::flat_buffer& buffer, std::chrono::milliseconds timeout,
              std::function<void(std::function<void(beast::error_code)>)> handshake, HttpResponse& response) {
  auto fail = [&response](const char* step, beast::error_code ec) { response.body = describe(step, ec); };
  auto& tcp_layer = beast::get_lowest_layer(stream);
  auto read_write = [&, fail] {
    http::async_write(stream, request, [&, fail](beast::error_code write_error, std::size_t) {
      if (write_error) return fail("write", write_error);
      http::async_read(stream, buffer, parser, [&, fail](beast::error_code read_error, std::size_t) {
        if (read_error) return fail("read", read_error);
        response.reached = true;
        response.status = parser.get().result_int();
        response.body = std::move(parser.get().body());
        beast::error_code ignored;
        tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  };
  auto resolver = std::make_shared<tcp::resolver>(io);
  resolver->async_resolve(
      endpoint.host, std::to_string(endpoint.port),
      [&, fail, read_write, handshake, resolver](beast::error_code resolve_error, tcp::resolver::results_type results) {
        if (resolve_error) return fail("resolve", resolve_error);
        tcp_layer.expires_after(timeout);
        tcp_layer.async_connect(
            results, [&, fail, read_write, handshake](beast::error_code connect_error, const tcp::endpoint&) {
              if (connect_error) return fail("connect", connect_error);
              if (!handshake) return read_write();
              handshake([fail, read_write](beast::error_code handshake_error) {
                if (handshake_error) return fail("TLS handshake", handshake_error);
                read_write();
              });
            });
      });
}

// The client context of an endpoint: trust store, client certificate, peer verification.
// Returns an error text instead when a file cannot be used.
std::optional<std::string> configure(ssl::context& context, const HttpTls& tls, const std::string& host) {
  beast::error_code ec;
  if (!tls.ca_file.empty()) {
    if (context.load_verify_file(tls.ca_file, ec); ec) return "ssl_ca_file '" + tls.ca_file + "': " + ec.message();
  } else if (context.set_default_verify_paths(ec); ec) {
    return "the system's trust store: " + ec.message();
  }
  if (!tls.cert_file.empty()) {
    if (context.use_certificate_chain_file(tls.cert_file, ec); ec)
      return "ssl_cert_file '" + tls.cert_file + "': " + ec.message();
    if (context.use_private_key_file(tls.key_file, ssl::context::pem, ec); ec)
      return "ssl_key_file '" + tls.key_file + "': " + ec.message();
  }
  if (tls.verify) {
    context.set_verify_mode(ssl::verify_peer);
    context.set_verify_callback(ssl::host_name_verification(host));
  } else {
    context.set_verify_mode(ssl::verify_none);
  }
  return std::nullopt;
}

}  // namespace

std::string ManagementEndpoint::where() const {
  return std::string(tls.enabled ? "https://" : "http://") + host + ":" + std::to_string(port);
}

HttpResponse management_call(const ManagementEndpoint& endpoint, std::string_view method, const std::string& target,
                             const std::string& body, std::chrono::milliseconds timeout, std::size_t body_limit) {
  HttpResponse response;
  if (endpoint.port == 0) {
    response.body =
        "no management port: set 'management_port' in the transport URL (AMQP port + 10000 is out of range)";
    return response;
  }
  try {
    boost::asio::io_context io;
    http::request<http::string_body> request{http::string_to_verb(beast::string_view(method.data(), method.size())),
                                             target, 11};
    request.set(http::field::host, endpoint.host);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::authorization, basic_credentials(endpoint));
    request.body() = body;
    request.prepare_payload();
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    beast::flat_buffer buffer;
    if (!endpoint.tls.enabled) {
      beast::tcp_stream stream(io);
      exchange(io, stream, endpoint, request, parser, buffer, timeout, {}, response);
      // The resolver is not covered by the stream's timer: bound the whole exchange as well.
      io.run_for(timeout + std::chrono::milliseconds(100));
    } else {
      ssl::context context(ssl::context::tls_client);
      if (auto problem = configure(context, endpoint.tls, endpoint.host)) {
        response.body = "TLS: " + *problem;
        return response;
      }
      beast::ssl_stream<beast::tcp_stream> stream(io, context);
      // SNI: RabbitMQ (and proxies in front of it) may pick the certificate by name.
      SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
      auto handshake = [&stream](std::function<void(beast::error_code)> done) {
        stream.async_handshake(ssl::stream_base::client, std::move(done));
      };
      exchange(io, stream, endpoint, request, parser, buffer, timeout, handshake, response);
      io.run_for(timeout + std::chrono::milliseconds(100));
    }
    if (!response.reached && response.body.empty()) response.body = "no answer within the deadline";
  } catch (const std::exception& e) {
    response.reached = false;
    response.body = e.what();
  }
  return response;
}

}  // namespace herald::detail
