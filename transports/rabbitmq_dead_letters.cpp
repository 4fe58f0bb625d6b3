// The dead-letter backend of amqp://: RabbitMQ's management HTTP API.
//
// Reading without consuming uses POST /api/queues/<vhost>/<queue>/get with ackmode
// `ack_requeue_true`: the plugin takes the messages with basic.get on a 0-9-1 channel and
// closes the channel without acking, so the broker requeues them into their old positions.
// Measured on RabbitMQ 3.10 (docs/operations.md "Dead letters"): order is preserved, and the
// 0-9-1 view carries what AMQP 1.0 does not show on 3.10: the x-death header (reason, queue,
// exchange, routing keys). Consuming over AMQP 1.0 and closing would show neither.
//
// Kept outside transports/amqp (whose ManagementClient only declares): this needs the response
// bodies. HTTPS when the transport URL is amqps:// (management_call).

#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/management_client.hpp"
#include "transports/amqp/topology.hpp"
#include "transports/dead_letter_backend.hpp"

#include <herald/error.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/beast/core/detail/base64.hpp>

namespace herald::detail {
namespace {

namespace beast = boost::beast;

std::string base64_decode(const std::string& text) {
  std::string out(beast::detail::base64::decoded_size(text.size()), '\0');
  auto [written, read] = beast::detail::base64::decode(out.data(), text.data(), text.size());
  out.resize(written);
  return out;
}

std::string string_member(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

class RabbitmqDeadLetters final : public DeadLetterBackend {
 public:
  RabbitmqDeadLetters(std::vector<ManagementEndpoint> endpoints, const std::string& vhost, std::string queue,
                      std::chrono::milliseconds timeout)
      : endpoints_(std::move(endpoints)),
        queue_path_("/api/queues/" + percent_encode_segment(vhost.empty() ? "/" : vhost) + "/" +
                    percent_encode_segment(queue)),
        queue_(std::move(queue)),
        timeout_(timeout) {}

  std::vector<DeadLetter> browse(std::size_t max) override {
    rapidjson::Document answer;
    std::string text = get_messages(max);
    answer.Parse(text.data(), text.size());
    if (answer.HasParseError() || !answer.IsArray())
      throw TransportError(Errc::transport_error, "management API: unexpected answer reading queue '" + queue_ + "'");
    std::vector<DeadLetter> letters;
    letters.reserve(answer.Size());
    for (const rapidjson::Value& item : answer.GetArray()) {
      DeadLetter& letter = letters.emplace_back();
      letter.position = letters.size() - 1;
      letter.body = string_member(item, "payload");
      if (string_member(item, "payload_encoding") == "base64") letter.body = base64_decode(letter.body);
      auto properties = item.FindMember("properties");
      if (properties == item.MemberEnd() || !properties->value.IsObject()) continue;
      letter.message_id = string_member(properties->value, "message_id");
      auto headers = properties->value.FindMember("headers");
      if (headers == properties->value.MemberEnd() || !headers->value.IsObject()) continue;
      // x-death lists the most recent death first; a message is dead-lettered with the
      // routing keys it was published with (no x-dead-letter-routing-key here).
      auto deaths = headers->value.FindMember("x-death");
      if (deaths == headers->value.MemberEnd() || !deaths->value.IsArray() || deaths->value.Empty()) continue;
      const rapidjson::Value& death = deaths->value[0];
      letter.reason = string_member(death, "reason");
      letter.queue = string_member(death, "queue");
      letter.exchange = string_member(death, "exchange");
      auto keys = death.FindMember("routing-keys");
      if (keys != death.MemberEnd() && keys->value.IsArray() && !keys->value.Empty() && keys->value[0].IsString())
        letter.routing_key = keys->value[0].GetString();
    }
    return letters;
  }

  std::size_t depth() override {
    // The depth from GET /api/queues lags by the statistics interval (5 s by default); the
    // `message_count` of one get (the messages left behind it) is exact.
    rapidjson::Document answer;
    std::string text = get_messages(1, true);
    answer.Parse(text.data(), text.size());
    if (answer.HasParseError() || !answer.IsArray() || answer.Empty() || !answer[0].IsObject()) return 0;
    auto count = answer[0].FindMember("message_count");
    return 1 + (count != answer[0].MemberEnd() && count->value.IsUint64() ? count->value.GetUint64() : 0);
  }

  std::size_t purge() override {
    std::size_t before = depth();
    request("DELETE", queue_path_ + "/contents", "", "purge");
    return before;
  }

 private:
  std::string get_messages(std::size_t count, bool truncate = false) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    writer.Key("count");
    writer.Uint64(count);
    writer.Key("ackmode");
    writer.String("ack_requeue_true");  // taken unacked, requeued in place when the channel closes
    writer.Key("encoding");
    writer.String("auto");  // UTF-8 text as is, anything else base64
    if (truncate) {
      writer.Key("truncate");
      writer.Uint64(1);
    }
    writer.EndObject();
    return request("POST", queue_path_ + "/get", buffer.GetString(), "read");
  }

  std::string request(const char* method, const std::string& target, const std::string& body, const char* what) {
    std::string failures;
    for (const ManagementEndpoint& endpoint : endpoints_) {
      // A large dead-letter queue answers with a large body.
      HttpResponse response = management_call(endpoint, method, target, body, timeout_, 1024ull * 1024 * 1024);
      std::string where = endpoint.where();
      if (response.reached && response.status >= 200 && response.status < 300) return std::move(response.body);
      if (response.reached && response.status == 401)
        throw TransportError(Errc::unauthorized, "management API at " + where + " refused the credentials of user '" +
                                                     endpoint.username + "' (" + what + " queue '" + queue_ + "')");
      if (response.reached && response.status == 404)
        throw TransportError(Errc::transport_error,
                             "dead-letter queue '" + queue_ + "' does not exist (" + where + ")");
      if (response.reached)
        throw TransportError(Errc::transport_error, "management API at " + where + ": cannot " + what + " queue '" +
                                                        queue_ + "': HTTP " + std::to_string(response.status) + " " +
                                                        response.body.substr(0, 300));
      failures += (failures.empty() ? "" : "; ") + where + ": " + response.body;
    }
    throw TransportError(Errc::unreachable, "management API unreachable (" + failures +
                                                "); herald dlq needs rabbitmq_management (set management_port)");
  }

  std::vector<ManagementEndpoint> endpoints_;
  std::string queue_path_;
  std::string queue_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<DeadLetterBackend> make_rabbitmq_dead_letters(Transport& transport, const std::string& queue,
                                                              std::chrono::milliseconds timeout,
                                                              std::string& resolved) {
  AmqpOptions options = parse_amqp_options(transport.url(), transport.options());
  resolved = queue.empty() ? options.dead_letter_queue : queue;
  if (resolved.empty())
    throw ConfigError("dead letters: the transport URL sets no dead_letter_exchange; name the dead-letter queue");
  return std::make_unique<RabbitmqDeadLetters>(management_endpoints(options), options.virtual_host, resolved, timeout);
}

}  // namespace herald::detail
