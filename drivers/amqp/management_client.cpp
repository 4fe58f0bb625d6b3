#include "drivers/amqp/management_client.hpp"

#include <herald/error.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace herald::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// Why a single endpoint failed; `reached` = it answered HTTP at all.
struct Attempt {
  bool reached = false;
  unsigned status = 0;
  std::string detail;
};

// Asynchronous operations on a private io_context, so the deadline covers resolve, connect,
// write and read (Beast enforces tcp_stream timeouts only on asynchronous operations).
Attempt send_one(const ManagementEndpoint& endpoint, http::verb verb, const std::string& target,
                 const std::string& body, std::chrono::milliseconds timeout) {
  Attempt attempt;
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, endpoint.host);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::authorization, "Basic " + base64(endpoint.username + ":" + endpoint.password));
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  auto fail = [&](const char* step, beast::error_code ec) {
    attempt.detail =
        std::string(step) + ": " + (ec == beast::error::timeout ? "no answer within declare_timeout" : ec.message());
  };
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         [&](beast::error_code resolve_error, tcp::resolver::results_type results) {
                           if (resolve_error) return fail("resolve", resolve_error);
                           stream.expires_after(timeout);
                           stream.async_connect(results, [&](beast::error_code connect_error, const tcp::endpoint&) {
                             if (connect_error) return fail("connect", connect_error);
                             http::async_write(stream, req, [&](beast::error_code write_error, std::size_t) {
                               if (write_error) return fail("write", write_error);
                               http::async_read(stream, buffer, res, [&](beast::error_code read_error, std::size_t) {
                                 if (read_error) return fail("read", read_error);
                                 attempt.reached = true;
                                 attempt.status = res.result_int();
                                 attempt.detail = res.body().substr(0, 300);
                                 beast::error_code ignored;
                                 stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                               });
                             });
                           });
                         });
  // The resolver is not covered by the stream's timer: bound the whole exchange as well.
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!io.stopped() && !attempt.reached && attempt.detail.empty()) attempt.detail = "no answer within declare_timeout";
  return attempt;
}

std::string json_object(const std::map<std::string, std::string>& strings, const std::map<std::string, bool>& flags,
                        const QueueArguments* arguments) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [key, value] : strings) {
    writer.Key(key.c_str());
    writer.String(value.c_str());
  }
  for (const auto& [key, value] : flags) {
    writer.Key(key.c_str());
    writer.Bool(value);
  }
  writer.Key("arguments");
  writer.StartObject();
  if (arguments)
    for (const auto& [key, value] : *arguments) {
      writer.Key(key.c_str());
      if (const auto* text = std::get_if<std::string>(&value))
        writer.String(text->c_str());
      else
        writer.Int64(std::get<std::int64_t>(value));
    }
  writer.EndObject();
  writer.EndObject();
  return buffer.GetString();
}

}  // namespace

std::string percent_encode_segment(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

ManagementClient::ManagementClient(std::vector<ManagementEndpoint> endpoints, std::string vhost,
                                   std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), vhost_(vhost.empty() ? "/" : std::move(vhost)), timeout_(timeout) {}

void ManagementClient::declare_exchange(const std::string& name, const std::string& type, bool durable) {
  request("PUT", "/api/exchanges/" + percent_encode_segment(vhost_) + "/" + percent_encode_segment(name),
          json_object({{"type", type}}, {{"durable", durable}, {"auto_delete", false}, {"internal", false}}, nullptr),
          "exchange '" + name + "'");
}

void ManagementClient::declare_queue(const std::string& name, const QueueSpec& spec) {
  // The HTTP API is not a connection: it cannot own an exclusive queue (Topology never asks).
  request("PUT", "/api/queues/" + percent_encode_segment(vhost_) + "/" + percent_encode_segment(name),
          json_object({}, {{"durable", spec.durable}, {"auto_delete", spec.auto_delete}}, &spec.arguments),
          "queue '" + name + "'");
}

void ManagementClient::bind_queue(const std::string& exchange, const std::string& queue,
                                  const std::string& routing_key) {
  request("POST",
          "/api/bindings/" + percent_encode_segment(vhost_) + "/e/" + percent_encode_segment(exchange) + "/q/" +
              percent_encode_segment(queue),
          json_object({{"routing_key", routing_key}}, {}, nullptr),
          "binding '" + exchange + "' -> '" + queue + "' (" + routing_key + ")");
}

void ManagementClient::request(const char* method, const std::string& target, const std::string& body,
                               const std::string& what) {
  http::verb verb = std::string_view(method) == "PUT" ? http::verb::put : http::verb::post;
  std::string failures;
  for (const ManagementEndpoint& endpoint : endpoints_) {
    Attempt attempt = send_one(endpoint, verb, target, body, timeout_);
    std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
    if (attempt.reached && attempt.status >= 200 && attempt.status < 300) return;
    if (attempt.reached && attempt.status == 401)
      throw TransportError(Errc::unauthorized, "management API at " + where + " refused the credentials of user '" +
                                                   endpoint.username + "' while declaring " + what);
    // RabbitMQ answers an inequivalent declaration with 400 and PRECONDITION_FAILED.
    if (attempt.reached && is_inequivalent(attempt.detail))
      throw TransportError(Errc::precondition_failed, "management API at " + where + " refused to declare " + what +
                                                          ": it exists with other flags or arguments: HTTP " +
                                                          std::to_string(attempt.status) + " " + attempt.detail);
    if (attempt.reached)
      throw TransportError(Errc::transport_error,
                           explain_refusal("management API at " + where + " refused to declare " + what,
                                           "HTTP " + std::to_string(attempt.status) + " " + attempt.detail));
    failures += (failures.empty() ? "" : "; ") + where + ": " + attempt.detail;
  }
  throw TransportError(Errc::unreachable, "management API unreachable while declaring " + what + " (" + failures +
                                              "); start RabbitMQ with rabbitmq_management, set management_port, "
                                              "or use topology=none");
}

}  // namespace herald::detail
