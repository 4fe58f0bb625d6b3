#include "transports/amqp/management_client.hpp"

#include <herald/error.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace herald::detail {
namespace {

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
  std::string failures;
  for (const ManagementEndpoint& endpoint : endpoints_) {
    HttpResponse attempt = management_call(endpoint, method, target, body, timeout_);
    std::string where = endpoint.where();
    if (attempt.reached && attempt.status >= 200 && attempt.status < 300) return;
    if (attempt.reached && attempt.status == 401)
      throw TransportError(Errc::unauthorized, "management API at " + where + " refused the credentials of user '" +
                                                   endpoint.username + "' while declaring " + what);
    // RabbitMQ answers an inequivalent declaration with 400 and PRECONDITION_FAILED.
    if (attempt.reached && is_inequivalent(attempt.body))
      throw TransportError(Errc::precondition_failed, "management API at " + where + " refused to declare " + what +
                                                          ": it exists with other flags or arguments: HTTP " +
                                                          std::to_string(attempt.status) + " " + attempt.body);
    if (attempt.reached)
      throw TransportError(Errc::transport_error,
                           explain_refusal("management API at " + where + " refused to declare " + what,
                                           "HTTP " + std::to_string(attempt.status) + " " + attempt.body));
    failures += (failures.empty() ? "" : "; ") + where + ": " + attempt.body;
  }
  throw TransportError(Errc::unreachable, "management API unreachable while declaring " + what + " (" + failures +
                                              "); start RabbitMQ with rabbitmq_management, set management_port, "
                                              "or use topology=none");
}

}  // namespace herald::detail
