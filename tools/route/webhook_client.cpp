#include "tools/route/webhook_client.hpp"

#include <herald/error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>

namespace herald::route {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

std::string HttpUrl::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + port + target;
}

HttpUrl parse_http_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0)
    throw ConfigError("webhook url: expected http://host[:port]/path (https is not supported), got '" + url + "'");
  const std::string rest = url.substr(kScheme.size());
  const std::size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  HttpUrl out;
  if (slash != std::string::npos) out.target = rest.substr(slash);
  if (out.target.front() == '?') out.target = "/" + out.target;
  if (authority.find('@') != std::string::npos)
    throw ConfigError("webhook url: credentials in the URL are not supported: '" + url + "'");
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) throw ConfigError("webhook url: unclosed '[' in '" + url + "'");
    out.host = authority.substr(1, close - 1);
    const std::string tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') throw ConfigError("webhook url: bad authority in '" + url + "'");
      out.port = tail.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty()) throw ConfigError("webhook url: no host in '" + url + "'");
  if (out.port.empty() || out.port.size() > 5 ||
      !std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(out.port) == 0 || std::stoul(out.port) > 65535)
    throw ConfigError("webhook url: bad port '" + out.port + "' in '" + url + "'");
  return out;
}

HttpOutcome http_post(const HttpUrl& url, const std::string& body, std::chrono::milliseconds connect_timeout,
                      std::chrono::milliseconds timeout) {
  // Asynchronous operations on a private io_context: beast::tcp_stream enforces its timeouts
  // only on asynchronous calls.
  asio::io_context io{1};
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  request.set(http::field::host, url.host);
  request.set(http::field::user_agent, "herald-route");
  request.set(http::field::content_type, "application/json");
  request.keep_alive(false);
  request.body() = body;
  request.prepare_payload();
  http::response<http::string_body> response;
  HttpOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto fail = [&](const char* step, beast::error_code ec) {
    outcome.error = std::string(step) + ": " + (ec == beast::error::timeout ? "timed out" : ec.message());
  };

  resolver.async_resolve(url.host, url.port, [&](beast::error_code resolved, tcp::resolver::results_type results) {
    if (resolved) return fail("resolve", resolved);
    stream.expires_after(
        std::min<std::chrono::steady_clock::duration>(connect_timeout, deadline - std::chrono::steady_clock::now()));
    stream.async_connect(results, [&](beast::error_code connected, const tcp::endpoint&) {
      if (connected) return fail("connect", connected);
      stream.expires_at(deadline);
      http::async_write(stream, request, [&](beast::error_code written, std::size_t) {
        if (written) return fail("send", written);
        http::async_read(stream, buffer, response, [&](beast::error_code ec, std::size_t) {
          if (ec) return fail("response", ec);
          outcome.status = static_cast<int>(response.result_int());
          beast::error_code ignored;
          stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        });
      });
    });
  });
  // The resolver has no timeout of its own: bound the whole run by the deadline.
  io.run_until(deadline + std::chrono::milliseconds(50));
  if (!io.stopped()) {
    io.stop();
    if (outcome.status == 0 && outcome.error.empty()) outcome.error = "timed out";
  }
  return outcome;
}

}  // namespace herald::route
