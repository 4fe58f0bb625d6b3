#include "transports/amqp/amqp_management.hpp"

#include "transports/amqp/management_client.hpp"

#include <herald/error.hpp>

#include <proton/codec/map.hpp>
#include <proton/codec/vector.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/value.hpp>

#include <charconv>

namespace herald::detail {

// ---- ManagementChannel ------------------------------------------------------------------------

void ManagementChannel::set_wake(std::function<bool()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

std::optional<bool> ManagementChannel::wait_broker(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  broker_known_.wait_for(lock, timeout, [&] { return v2_.has_value() || closed_ || failure_.refused.has_value(); });
  return v2_;
}

ManagementChannel::Failure ManagementChannel::last_failure() {
  std::lock_guard lock(mutex_);
  return failure_;
}

void ManagementChannel::set_failure(std::optional<Errc> refused, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    failure_ = {refused, std::move(reason)};
  }
  broker_known_.notify_all();
}

void ManagementChannel::set_broker(bool v2) {
  {
    std::lock_guard lock(mutex_);
    v2_ = v2;
    failure_ = {};
  }
  broker_known_.notify_all();
}

ManagementResponse ManagementChannel::request(ManagementRequest request, std::chrono::milliseconds timeout) {
  auto pending = std::make_shared<Pending>();
  std::future<ManagementResponse> answer = pending->promise.get_future();
  std::function<bool()> wake;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return {false, {}, {}, "transport closed"};
    request.id = next_id_++;
    pending->request = std::move(request);
    unsent_.push_back(pending);
    wake = wake_;
  }
  if (!wake || !wake()) {
    close();
    return {false, {}, {}, "transport closed"};
  }
  if (answer.wait_for(timeout) == std::future_status::ready) return answer.get();
  std::lock_guard lock(mutex_);
  std::erase(unsent_, pending);
  in_flight_.erase(pending->request.id);
  return {false, {}, {}, "no answer from the management node within declare_timeout"};
}

std::optional<ManagementRequest> ManagementChannel::take_unsent() {
  std::lock_guard lock(mutex_);
  if (unsent_.empty()) return std::nullopt;
  std::shared_ptr<Pending> pending = std::move(unsent_.front());
  unsent_.pop_front();
  in_flight_[pending->request.id] = pending;
  return pending->request;
}

void ManagementChannel::answer(std::uint64_t id, ManagementResponse response) {
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard lock(mutex_);
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return;  // timed out already
    pending = std::move(it->second);
    in_flight_.erase(it);
  }
  pending->promise.set_value(std::move(response));
}

void ManagementChannel::fail_in_flight(const std::string& why) {
  std::map<std::uint64_t, std::shared_ptr<Pending>> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(in_flight_);
  }
  for (auto& [id, pending] : failed) pending->promise.set_value({false, {}, {}, why});
}

void ManagementChannel::close() {
  std::deque<std::shared_ptr<Pending>> unsent;
  std::map<std::uint64_t, std::shared_ptr<Pending>> in_flight;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    wake_ = nullptr;
    unsent.swap(unsent_);
    in_flight.swap(in_flight_);
  }
  broker_known_.notify_all();
  for (auto& pending : unsent) pending->promise.set_value({false, {}, {}, "transport closed"});
  for (auto& [id, pending] : in_flight) pending->promise.set_value({false, {}, {}, "transport closed"});
}

// ---- encoding -------------------------------------------------------------------------------

namespace {

proton::value to_value(const QueueArguments& arguments) {
  std::map<std::string, proton::value> map;
  for (const auto& [key, argument] : arguments) {
    if (const auto* text = std::get_if<std::string>(&argument))
      map[key] = *text;
    else
      map[key] = std::get<std::int64_t>(argument);
  }
  return map;
}

}  // namespace

void encode_management_request(const ManagementRequest& request, proton::message& out) {
  out.clear();
  out.to(request.path);
  out.subject(request.method);
  out.reply_to("$me");
  out.id(proton::message_id(static_cast<std::uint64_t>(request.id)));
  if (request.body.empty()) {
    out.body(proton::null());  // an amqp-value section holding null, as the node expects
    return;
  }
  std::map<std::string, proton::value> map;
  for (const auto& [key, field] : request.body) {
    if (const auto* flag = std::get_if<bool>(&field))
      map[key] = *flag;
    else if (const auto* text = std::get_if<std::string>(&field))
      map[key] = *text;
    else
      map[key] = to_value(std::get<QueueArguments>(field));
  }
  out.body(map);
}

std::uint64_t decode_management_response(const proton::message& message, ManagementResponse& out) {
  out.answered = true;
  out.status = message.subject();
  const proton::value& body = message.body();
  if (body.type() == proton::STRING) out.text = proton::get<std::string>(body);
  std::uint64_t id = 0;
  proton::message_id correlation = message.correlation_id();
  if (correlation.type() == proton::ULONG) id = proton::get<std::uint64_t>(correlation);
  return id;
}

// ---- sinks ------------------------------------------------------------------------------------

AmqpManagementSink::AmqpManagementSink(std::shared_ptr<ManagementChannel> channel, std::chrono::milliseconds timeout)
    : channel_(std::move(channel)), timeout_(timeout) {}

void AmqpManagementSink::call(ManagementRequest request, const std::string& what) {
  ManagementResponse response = channel_->request(std::move(request), timeout_);
  if (response.ok()) return;
  if (!response.answered)
    throw TransportError(Errc::unreachable, "AMQP management: cannot declare " + what + ": " + response.error);
  const std::string refused = "AMQP management refused to declare " + what + " (" + response.status + ")";
  if (response.status == "409" || is_inequivalent(response.text))
    throw TransportError(Errc::precondition_failed,
                         refused + ": it exists with other flags or arguments: " + response.text);
  if (response.status == "403" || response.status == "401")
    throw TransportError(Errc::unauthorized, refused + ": " + response.text);
  throw TransportError(Errc::transport_error, explain_refusal(refused, response.text));
}

void AmqpManagementSink::declare_exchange(const std::string& name, const std::string& type, bool durable) {
  call({0,
        "PUT",
        "/exchanges/" + percent_encode_segment(name),
        {{"type", type}, {"durable", durable}, {"auto_delete", false}, {"internal", false}}},
       "exchange '" + name + "'");
}

void AmqpManagementSink::declare_queue(const std::string& name, const QueueSpec& spec) {
  call({0,
        "PUT",
        "/queues/" + percent_encode_segment(name),
        {{"durable", spec.durable},
         {"exclusive", spec.exclusive},
         {"auto_delete", spec.auto_delete},
         {"arguments", spec.arguments}}},
       "queue '" + name + "'");
}

void AmqpManagementSink::bind_queue(const std::string& exchange, const std::string& queue,
                                    const std::string& routing_key) {
  call({0,
        "POST",
        "/bindings",
        {{"source", exchange},
         {"destination_queue", queue},
         {"binding_key", routing_key},
         {"arguments", QueueArguments{}}}},
       "binding '" + exchange + "' -> '" + queue + "' (" + routing_key + ")");
}

BrokerAwareSink::BrokerAwareSink(std::shared_ptr<ManagementChannel> channel, std::unique_ptr<TopologySink> http,
                                 std::unique_ptr<TopologySink> amqp, std::optional<bool> forced_v2,
                                 std::chrono::milliseconds timeout)
    : channel_(std::move(channel)),
      http_(std::move(http)),
      amqp_(std::move(amqp)),
      forced_v2_(forced_v2),
      timeout_(timeout) {}

TopologySink& BrokerAwareSink::pick(const std::string& what) const {
  std::optional<bool> v2 = forced_v2_ ? forced_v2_ : channel_->wait_broker(timeout_);
  if (!v2) {
    ManagementChannel::Failure failure = channel_->last_failure();
    if (failure.refused) throw_error(*failure.refused, "cannot declare " + what + ": " + failure.reason);
    throw TransportError(Errc::unreachable, "cannot declare " + what +
                                                ": no connection to the broker within declare_timeout" +
                                                (failure.reason.empty() ? "" : " (" + failure.reason + ")"));
  }
  return *v2 ? *amqp_ : *http_;
}

void BrokerAwareSink::declare_exchange(const std::string& name, const std::string& type, bool durable) {
  pick("exchange '" + name + "'").declare_exchange(name, type, durable);
}
void BrokerAwareSink::declare_queue(const std::string& name, const QueueSpec& spec) {
  pick("queue '" + name + "'").declare_queue(name, spec);
}
void BrokerAwareSink::bind_queue(const std::string& exchange, const std::string& queue,
                                 const std::string& routing_key) {
  pick("binding of '" + queue + "'").bind_queue(exchange, queue, routing_key);
}
bool BrokerAwareSink::supports_exclusive() const { return pick("a queue").supports_exclusive(); }

// ---- addresses and versions -----------------------------------------------------------------

std::string v2_address(const std::string& v1) {
  constexpr std::string_view kExchange = "/exchange/";
  constexpr std::string_view kQueue = "/amq/queue/";
  if (v1.starts_with(kExchange)) {
    std::string rest = v1.substr(kExchange.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos) return "/exchanges/" + percent_encode_segment(rest);
    return "/exchanges/" + percent_encode_segment(rest.substr(0, slash)) + "/" +
           percent_encode_segment(rest.substr(slash + 1));
  }
  if (v1.starts_with(kQueue)) return "/queues/" + percent_encode_segment(v1.substr(kQueue.size()));
  return v1;
}

bool is_rabbitmq_v2(const std::string& product, const std::string& version) {
  if (product != "RabbitMQ") return false;
  int major = 0;
  std::from_chars(version.data(), version.data() + version.size(), major);
  return major >= 4;
}

}  // namespace herald::detail
