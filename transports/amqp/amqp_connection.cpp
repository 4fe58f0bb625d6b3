#include "transports/amqp/amqp_connection.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>
#include <proton/binary.hpp>
#include <proton/connection_options.hpp>
#include <proton/error_condition.hpp>
#include <proton/message_id.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/ssl.hpp>

#include <openssl/x509.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/codec/map.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>

#include <charconv>
#include <cstring>
#include <future>
#include <optional>

namespace herald::detail {
namespace {

constexpr auto kTickInterval = std::chrono::milliseconds(100);
// How long a channel rests after its session's end reply before a new session may take it.
constexpr auto kChannelReuseGrace = std::chrono::milliseconds(100);
// How long a closing connection waits for the broker's close reply.
constexpr auto kCloseReplyTimeout = std::chrono::milliseconds(1000);
constexpr std::string_view kLinkPrefix = "herald-";
constexpr std::string_view kManagementPrefix = "herald.management.";
constexpr const char* kManagementNode = "/management";

proton::duration to_duration(std::chrono::milliseconds ms) {
  return proton::duration(static_cast<proton::duration::numeric_type>(ms.count()));
}

bool is_auth_failure(const proton::error_condition& condition) {
  return condition.name() == "amqp:unauthorized-access";
}

// Proton reports a failed handshake as a framing error whose description starts "SSL Failure:".
bool is_tls_failure(const proton::error_condition& condition) {
  return condition.description().find("SSL Failure") != std::string::npos;
}

LinkMachineOptions machine_options(const AmqpOptions& o) {
  LinkMachineOptions m;
  m.hosts = o.hosts.size();
  m.reconnect_delay = o.reconnect_delay;
  m.reconnect_max_delay = o.reconnect_max_delay;
  m.auth_retry_delay = o.auth_retry_delay;
  m.link_retry_max_delay = std::min(o.reconnect_max_delay, std::chrono::milliseconds(5000));
  m.declare = o.topology == TopologyMode::management;
  m.declare_attempts = o.declare_attempts;
  m.topology_check_interval = o.topology_check_interval;
  return m;
}

std::string link_name(LinkId id) { return std::string(kLinkPrefix) + std::to_string(id); }

MessageId message_id_of(const proton::tracker& tracker) {
  proton::binary tag = tracker.tag();
  MessageId id = 0;
  if (tag.size() == sizeof id) std::memcpy(&id, tag.data(), sizeof id);
  return id;
}

BrokerError broker_error(const proton::error_condition& condition) {
  return {condition.name(), condition.description()};
}

// Proton C++ 0.37 settles `modified` without delivery-failed, which RabbitMQ 4 would not count
// as a failed delivery; set the flag through the C API. (Taking the C handle through a
// pointer to the protected member is the one access path the C++ binding leaves.)
struct RawDelivery : proton::delivery {
  using Base = proton::internal::object<pn_delivery_t>;
  static pn_delivery_t* of(const proton::delivery& d) {
    pn_delivery_t* (Base::*getter)() const = &RawDelivery::pn_object;
    const Base& base = d;
    return (base.*getter)();
  }
};

void settle_modified_failed(proton::delivery& delivery) {
  pn_delivery_t* raw = RawDelivery::of(delivery);
  pn_disposition_set_failed(pn_delivery_local(raw), true);
  pn_delivery_update(raw, PN_MODIFIED);
  pn_delivery_settle(raw);
}

std::string property_text(const std::map<proton::symbol, proton::value>& properties, const char* key) {
  auto it = properties.find(proton::symbol(key));
  if (it == properties.end()) return {};
  try {
    return proton::get<std::string>(it->second);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

AmqpConnection::AmqpConnection(AmqpOptions options, std::shared_ptr<spdlog::logger> logger,
                               std::shared_ptr<Topology> topology, std::shared_ptr<ManagementChannel> management,
                               std::function<void(const TransportStatus&)> on_status_change)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      topology_(std::move(topology)),
      management_(management ? std::move(management) : std::make_shared<ManagementChannel>()),
      on_status_change_(std::move(on_status_change)),
      window_(options_.in_flight_window, options_.max_buffer_bytes),
      machine_(machine_options(options_)) {
  container_ = std::make_unique<proton::container>(static_cast<proton::messaging_handler&>(*this), "herald");
  container_->auto_stop(false);
  work_queue_ = std::make_unique<proton::work_queue>(*container_);
  mailbox_ = std::make_shared<IoMailbox>([this] { return post([this] { drain(); }); });
  message_.content_type("application/json");
  message_.content_encoding("utf-8");
  message_.durable(options_.durable_messages);
  management_->set_wake([this] { return post([this] { pump_management(); }); });
  std::promise<void> started;
  auto started_future = started.get_future();
  io_thread_ = std::thread([this, &started] {
    io_thread_id_ = std::this_thread::get_id();
    started.set_value();
    try {
      container_->run();
    } catch (const std::exception& e) {
      logger_->error("amqp: I/O thread stopped by an exception: {}", e.what());
    }
    io_running_ = false;
    // Whatever still waits fails now; Proton handles are released on the thread that used them.
    machine_.stop(std::chrono::steady_clock::now());
    for (Action& action : machine_.take_actions())
      if (auto* complete = std::get_if<action::Complete>(&action)) run(*complete);
    senders_.clear();
    receivers_.clear();
    deliveries_.clear();
    for (auto& [id, entry] : consumers_) entry.buffer->set_detached();
    consumers_.clear();
    management_sender_ = proton::sender();
    management_receiver_ = proton::receiver();
    management_->close();
    connection_ = proton::connection();
  });
  started_future.wait();
}

AmqpConnection::~AmqpConnection() {
  window_.wait_empty(std::chrono::steady_clock::now() + options_.send_timeout);
  if (!post([this] { begin_shutdown(); })) container_->stop();
  mailbox_->close();
  io_thread_.join();
  declarer_.stop();
  work_queue_.reset();
  container_.reset();
}

bool AmqpConnection::post(std::function<void()> work) {
  if (!io_running_) return false;
  return work_queue_->add([this, work = std::move(work)] {
    work();
    wake_io();
  });
}

// Work that runs as a container task (not a connection event) must wake the connection, or
// Proton does not write the frames it produced until the next network event.
void AmqpConnection::wake_io() {
  if (connected_ && connection_) connection_.wake();
}

TransportStatus AmqpConnection::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

std::string AmqpConnection::broker() const {
  std::lock_guard lock(status_mutex_);
  return broker_;
}

// ---- caller threads ------------------------------------------------------------------------

void AmqpConnection::send(std::string address, OutgoingMessage message, SendCallback done) {
  const std::size_t bytes = message.body.size() + message.message_id.size() + address.size();
  // A callback that sends again runs on the I/O thread, which must never block.
  const bool wait = options_.overflow == OverflowPolicy::block && !on_io_thread();
  if (!window_.acquire(bytes, wait ? options_.send_timeout : std::chrono::milliseconds(0))) {
    TransportStatus now = status();
    std::string reason = "send buffer full (in_flight_window " + std::to_string(options_.in_flight_window) +
                         ", max_buffer_bytes " + std::to_string(options_.max_buffer_bytes) + ")";
    if (now.state != TransportState::connected) reason += ": " + now.reason;
    if (done) done(make_error_code(Errc::overflow), reason);
    return;
  }
  SendRequest request{std::move(address), std::move(message), std::move(done), bytes};
  if (!mailbox_->push_send(request)) {
    window_.release(bytes);
    if (request.done) request.done(make_error_code(Errc::closed), "transport closed");
  }
}

std::shared_ptr<DeliveryBuffer> AmqpConnection::listen(std::vector<QueueBinding> bindings, std::size_t credit_window) {
  auto buffer = std::make_shared<DeliveryBuffer>(std::move(bindings), credit_window);
  if (!post([this, buffer] {
        for (const std::string& queue : buffer->queues()) {
          ConsumerId id = next_consumer_++;
          consumers_[id] = {buffer, queue};
          machine_.add_consumer(std::chrono::steady_clock::now(), id, queue,
                                static_cast<std::uint32_t>(buffer->credit_window()));
        }
        execute();
      }))
    throw TransportError(Errc::closed, "amqp: transport is closed");
  auto [failed, reason] = buffer->wait_attached(options_.connect_timeout);
  if (!failed) return buffer;
  const Errc code = *failed;
  (void)stop_listener(buffer);
  if (code == Errc::timeout) {
    TransportStatus now = status();
    if (now.state == TransportState::connecting)
      throw TransportError(Errc::unreachable, "amqp: no broker reachable within connect_timeout (" + now.reason + ")");
    throw TransportError(Errc::timeout, "amqp: consumer links not attached within connect_timeout");
  }
  if (code == Errc::unauthorized || code == Errc::tls_failed) throw_error(code, "amqp: " + reason);
  throw_error(code, "amqp: cannot consume " + reason);
}

void AmqpConnection::pause_listener(const std::shared_ptr<DeliveryBuffer>& buffer) {
  (void)post([this, buffer] {
    for (ConsumerId id : consumers_of(buffer)) machine_.pause_consumer(std::chrono::steady_clock::now(), id);
    execute();
  });  // false: the loop has ended, nothing more can arrive
}

std::size_t AmqpConnection::stop_listener(const std::shared_ptr<DeliveryBuffer>& buffer) {
  auto unpolled = std::make_shared<std::vector<ReadyDelivery>>(buffer->stop());
  const std::size_t returned = unpolled->size();
  if (!post([this, buffer, unpolled] {
        std::vector<std::pair<LinkId, std::uint64_t>> ids;
        for (const ReadyDelivery& d : *unpolled) ids.emplace_back(d.link_id, d.delivery_id);
        std::vector<ConsumerId> mine = consumers_of(buffer);
        if (mine.empty()) buffer->set_detached();
        for (ConsumerId id : mine) machine_.stop_consumer(std::chrono::steady_clock::now(), id, ids);
        execute();
        // RabbitMQ 3.10 answers a detach on an idle queue only after 30 s: do not wait that long.
        // A deadline tick() checks, not a timer: a pending Proton timer keeps the container
        // running until it fires, so closing the transport would wait out the detach timeout.
        detach_deadlines_.push_back({std::chrono::steady_clock::now() + options_.detach_timeout, std::move(mine)});
      }))
    return returned;  // the loop has ended: the connection is gone and the broker requeued them
  buffer->wait_detached(options_.detach_timeout + std::chrono::milliseconds(500));
  return returned;
}

std::vector<ConsumerId> AmqpConnection::consumers_of(const std::shared_ptr<DeliveryBuffer>& buffer) const {
  std::vector<ConsumerId> ids;
  for (const auto& [id, entry] : consumers_)
    if (entry.buffer == buffer) ids.push_back(id);
  return ids;
}

// Detaches what did not answer its detach within detach_timeout (I/O thread, from tick()).
void AmqpConnection::force_detach(const std::vector<ConsumerId>& mine) {
  for (ConsumerId id : mine) {
    auto it = consumers_.find(id);
    if (it == consumers_.end()) continue;
    LinkId link = machine_.consumer_link(id);
    if (link != 0) {
      logger_->debug("amqp: queue '{}': no detach reply within detach_timeout, closing anyway", it->second.queue);
      auto receiver = receivers_.find(link);
      if (receiver != receivers_.end()) {
        end_session(receiver->second.session());
        receivers_.erase(receiver);
      }
      machine_.on_link_detached(std::chrono::steady_clock::now(), link);
    }
  }
  execute();
  wake_io();
}

// ---- I/O thread: executing the machine's actions -----------------------------------------

void AmqpConnection::execute() {
  // Actions can produce events (e.g. a send callback that sends again): loop until quiet.
  for (int round = 0; round < 1000; ++round) {
    std::vector<Action> actions = machine_.take_actions();
    if (actions.empty()) return;
    for (Action& action : actions) std::visit([this](auto& a) { run(a); }, action);
  }
}

proton::ssl_client_options AmqpConnection::tls_options() const {
  const auto mode = options_.ssl_verify ? proton::ssl::VERIFY_PEER_NAME : proton::ssl::ANONYMOUS_PEER;
  if (options_.ssl_cert_file.empty())
    return options_.ssl_ca_file.empty() ? proton::ssl_client_options(mode)
                                        : proton::ssl_client_options(options_.ssl_ca_file, mode);
  // With a client certificate Proton needs a trust store file: OpenSSL's default bundle
  // (Debian: /usr/lib/ssl/cert.pem, the ca-certificates bundle) unless ssl_ca_file names one.
  const std::string trust = options_.ssl_ca_file.empty() ? X509_get_default_cert_file() : options_.ssl_ca_file;
  return proton::ssl_client_options(proton::ssl_certificate(options_.ssl_cert_file, options_.ssl_key_file), trust,
                                    mode);
}

void AmqpConnection::run(action::Connect& a) {
  const AmqpHost& host = options_.hosts[a.host];
  proton::connection_options co;
  co.idle_timeout(to_duration(options_.idle_timeout));
  if (!host.username.empty()) {
    // With credentials, never let Proton fall back to ANONYMOUS (it would log in as guest).
    co.user(host.username).password(host.password);
    co.sasl_allow_insecure_mechs(true);
    co.sasl_allowed_mechs(options_.sasl_mechanisms.empty() ? "PLAIN" : options_.sasl_mechanisms);
  } else if (!options_.sasl_mechanisms.empty()) {
    co.sasl_allowed_mechs(options_.sasl_mechanisms);
  } else if (!options_.ssl_cert_file.empty()) {
    // No user in the URL and a client certificate: the certificate is the identity.
    co.sasl_allowed_mechs("EXTERNAL");
  }
  // RabbitMQ's AMQP 1.0 plugin picks the vhost from the open frame's hostname "vhost:<name>".
  if (!options_.virtual_host.empty()) co.virtual_host("vhost:" + options_.virtual_host);
  if (options_.tls) co.ssl_client_options(tls_options());
  logger_->debug("amqp: connecting to {}", host.address());
  current_host_ = a.host;
  auth_failed_ = false;
  tls_failed_ = false;
  broker_closed_ = false;
  last_error_.clear();
  connection_ = container_->connect((options_.tls ? "amqps://" : "amqp://") + host.address(), co);
}

void AmqpConnection::run(action::CloseConnection&) {
  if (connection_) connection_.close();
}

void AmqpConnection::run(action::AttachSender& a) {
  if (!connected_ || defer_attach(a)) return;
  // One session per link: RabbitMQ reports a bad address by ending the whole session.
  proton::session session = connection_.open_session();
  proton::sender_options link_options;
  link_options.name(link_name(a.link));
  link_options.delivery_mode(options_.delivery == DeliveryGuarantee::at_least_once
                                 ? proton::delivery_mode::AT_LEAST_ONCE
                                 : proton::delivery_mode::AT_MOST_ONCE);
  link_options.auto_settle(true);
  senders_[a.link] = session.open_sender(target_address(a.address), link_options);
}

void AmqpConnection::run(action::AttachReceiver& a) {
  if (!connected_ || defer_attach(a)) return;
  proton::session session = connection_.open_session();
  proton::receiver_options link_options;
  link_options.name(link_name(a.link));
  link_options.auto_accept(false);
  link_options.credit_window(0);  // the machine grants credit
  link_options.delivery_mode(proton::delivery_mode::AT_LEAST_ONCE);
  receivers_[a.link] = session.open_receiver(target_address("/amq/queue/" + a.queue), link_options);
}

void AmqpConnection::run(action::Detach& a) {
  if (auto it = senders_.find(a.link); it != senders_.end()) {
    try {
      it->second.close();
    } catch (const std::exception&) {
    }
    return;
  }
  if (auto it = receivers_.find(a.link); it != receivers_.end()) {
    try {
      it->second.close();
    } catch (const std::exception&) {
    }
  }
}

void AmqpConnection::run(action::Transfer& a) {
  auto it = senders_.find(a.link);
  if (it == senders_.end()) return;
  const OutgoingMessage& message = machine_.message(a.message);
  message_.body(proton::binary(message.body));
  message_.inferred(true);  // one data section, which kombu/oslo read as raw bytes
  message_.id(proton::message_id(message.message_id));
  proton::binary tag(sizeof a.message, 0);
  std::memcpy(tag.data(), &a.message, sizeof a.message);
  it->second.send(message_, tag);
  if (options_.delivery == DeliveryGuarantee::at_most_once)
    machine_.on_outcome(std::chrono::steady_clock::now(), a.message, DeliveryOutcome::accepted);
}

void AmqpConnection::run(action::Declare& a) {
  declarer_.post([this, a] {
    DeclareResult result = topology_->declare_address(a.exchange, a.routing_key);
    post([this, address = a.address, result] {
      machine_.on_declared(std::chrono::steady_clock::now(), address, result);
      execute();
    });
  });
}

void AmqpConnection::run(action::DeclareConsumer& a) {
  auto it = consumers_.find(a.consumer);
  if (it == consumers_.end()) return;
  std::vector<QueueBinding> bindings;
  for (const QueueBinding& binding : it->second.buffer->bindings())
    if (binding.queue == it->second.queue) bindings.push_back(binding);
  declarer_.post([this, id = a.consumer, bindings = std::move(bindings)] {
    DeclareResult result = topology_->redeclare_for_listen(bindings);
    post([this, id, result] {
      machine_.on_consumer_declared(std::chrono::steady_clock::now(), id, result);
      execute();
    });
  });
}

void AmqpConnection::run(action::Grant& a) {
  if (auto it = receivers_.find(a.link); it != receivers_.end()) it->second.add_credit(a.credit);
}

void AmqpConnection::run(action::Settle& a) {
  auto it = deliveries_.find(a.delivery);
  if (it == deliveries_.end()) return;
  switch (a.outcome) {
    case Outcome::ack:
      it->second.delivery.accept();
      break;
    case Outcome::requeue:
      // RabbitMQ 4 counts a modified(delivery-failed) outcome against x-delivery-limit;
      // RabbitMQ 3.10 crashes the session on modified, so there it is released.
      if (v2_)
        settle_modified_failed(it->second.delivery);
      else
        it->second.delivery.release();
      break;
    case Outcome::reject:
      it->second.delivery.reject();
      break;
  }
  deliveries_.erase(it);
}

void AmqpConnection::run(action::Complete& a) {
  window_.release(a.bytes);
  if (a.done) a.done(a.error, a.reason);
}

void AmqpConnection::run(action::ConsumerAttached& a) {
  if (auto it = consumers_.find(a.consumer); it != consumers_.end()) it->second.buffer->link_attached();
}

void AmqpConnection::run(action::ConsumerFailed& a) {
  if (auto it = consumers_.find(a.consumer); it != consumers_.end()) it->second.buffer->fail(a.code, a.reason);
}

void AmqpConnection::run(action::ConsumerLinkLost& a) {
  if (auto it = consumers_.find(a.consumer); it != consumers_.end()) it->second.buffer->drop_ready(a.link);
  std::erase_if(deliveries_, [&](const auto& entry) { return entry.second.link == a.link; });
  if (auto it = receivers_.find(a.link); it != receivers_.end()) {
    if (connected_) end_session(it->second.session());
    receivers_.erase(it);
  }
}

void AmqpConnection::run(action::ConsumerDetached& a) {
  auto it = consumers_.find(a.consumer);
  if (it == consumers_.end()) return;
  std::shared_ptr<DeliveryBuffer> buffer = std::move(it->second.buffer);
  consumers_.erase(it);
  if (consumers_of(buffer).empty()) buffer->set_detached();
}

void AmqpConnection::run(action::StatusChanged& a) {
  {
    std::lock_guard lock(status_mutex_);
    status_ = a.status;
  }
  if (on_status_change_) {
    try {
      on_status_change_(a.status);
    } catch (...) {
      logger_->error("amqp: on_status_change threw; ignored");
    }
  }
}

void AmqpConnection::run(action::Log& a) {
  switch (a.level) {
    case action::Log::debug:
      logger_->debug("{}", a.text);
      break;
    case action::Log::info:
      logger_->info("{}", a.text);
      break;
    case action::Log::warn:
      logger_->warn("{}", a.text);
      break;
    case action::Log::error:
      logger_->error("{}", a.text);
      break;
  }
}

// ---- I/O thread: timers, hand-over and shutdown -------------------------------------------

void AmqpConnection::on_container_start(proton::container&) {
  machine_.start(std::chrono::steady_clock::now());
  execute();
  container_->schedule(to_duration(kTickInterval), [this] { tick(); });
}

void AmqpConnection::tick() {
  if (!deferred_attaches_.empty() && attaches_may_begin()) run_deferred_attaches();
  const auto now = std::chrono::steady_clock::now();
  for (auto it = detach_deadlines_.begin(); it != detach_deadlines_.end();) {
    if (it->first > now) {
      ++it;
      continue;
    }
    const std::vector<ConsumerId> due = std::move(it->second);
    it = detach_deadlines_.erase(it);
    force_detach(due);
  }
  machine_.on_tick(now);
  execute();
  wake_io();
  if (!stopping_) container_->schedule(to_duration(kTickInterval), [this] { tick(); });
}

void AmqpConnection::drain() {
  std::vector<SendRequest> sends;
  std::vector<SettleRequest> settles;
  mailbox_->take(sends, settles);
  const auto now = std::chrono::steady_clock::now();
  for (const SettleRequest& settle : settles) machine_.settle(now, settle.link_id, settle.delivery_id, settle.outcome);
  for (SendRequest& request : sends) {
    std::string exchange = request.message.exchange;
    machine_.submit(now, std::move(request.address), std::move(exchange), std::move(request.message),
                    std::move(request.done), request.bytes);
  }
  execute();
}

void AmqpConnection::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& [id, entry] : consumers_) machine_.stop_consumer(std::chrono::steady_clock::now(), id, {});
  machine_.stop(std::chrono::steady_clock::now());
  execute();
  if (!connected_) {
    container_->stop();
    return;
  }
  // Detach first and close afterwards: a fast close loses acks in RabbitMQ 3.10.
  auto deadline = std::chrono::steady_clock::now() + options_.detach_timeout;
  // The check re-schedules itself; only the scheduled task holds it strongly (a self-capture
  // would be a reference cycle, which LeakSanitizer reports).
  auto check = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_check = check;
  // After the close, the same check waits for the broker's close reply (on_transport_close
  // stops the container), but not forever. Short steps, not one long timer: a pending Proton
  // timer keeps the container, and the process, alive until it fires.
  std::optional<std::chrono::steady_clock::time_point> closed_at;
  *check = [this, deadline, weak_check, closed_at]() mutable {
    if (!connected_) return;
    const auto now = std::chrono::steady_clock::now();
    if (closed_at) {
      if (now - *closed_at >= kCloseReplyTimeout) {
        container_->stop();
        return;
      }
    } else if (machine_.stopped_and_detached() || now >= deadline) {
      connection_.close();
      closed_at = now;
    }
    wake_io();
    if (auto again = weak_check.lock())
      container_->schedule(to_duration(std::chrono::milliseconds(20)), [again] { (*again)(); });
  };
  (*check)();
}

// ---- I/O thread: Proton events --------------------------------------------------------------

void AmqpConnection::on_connection_open(proton::connection& connection) {
  connection_ = connection;
  connected_ = true;
  std::map<proton::symbol, proton::value> properties;
  try {
    properties = connection.properties();
  } catch (const std::exception&) {
  }
  const std::string product = property_text(properties, "product");
  const std::string version = property_text(properties, "version");
  v2_ = options_.address_format == AddressFormat::v2 ||
        (options_.address_format == AddressFormat::automatic && is_rabbitmq_v2(product, version));
  {
    std::lock_guard lock(status_mutex_);
    broker_ = product.empty() ? std::string("unknown broker") : product + " " + version;
  }
  logger_->info("amqp: connected to {} ({}, {} addresses){}", options_.hosts[current_host_].address(),
                product.empty() ? "unknown broker" : product + " " + version, v2_ ? "v2" : "v1",
                ever_connected_ ? " (reconnected)" : "");
  ever_connected_ = true;
  management_->set_broker(v2_);
  if (v2_ && options_.topology == TopologyMode::management) open_management();
  machine_.on_connected(std::chrono::steady_clock::now());
  execute();
}

void AmqpConnection::on_connection_error(proton::connection& connection) {
  proton::error_condition condition = connection.error();
  if (is_auth_failure(condition)) auth_failed_ = true;
  broker_closed_ = true;
  last_error_ = condition.what();
}

void AmqpConnection::on_transport_error(proton::transport& transport) {
  proton::error_condition condition = transport.error();
  if (is_auth_failure(condition)) auth_failed_ = true;
  if (is_tls_failure(condition)) tls_failed_ = true;
  if (last_error_.empty()) last_error_ = condition.what();
}

void AmqpConnection::on_transport_close(proton::transport& transport) {
  wake_takers();  // a wake-up asked for in this batch would not come now
  const bool was_connected = connected_;
  connected_ = false;
  senders_.clear();
  receivers_.clear();
  deliveries_.clear();
  sessions_ending_ = 0;
  deferred_attaches_.clear();  // the machine attaches again after the reconnect
  management_lost("connection lost");
  connection_ = proton::connection();
  if (stopping_) {
    machine_.on_disconnected(std::chrono::steady_clock::now(), "closed", std::nullopt);
    execute();
    container_->stop();
    return;
  }
  std::string reason = !last_error_.empty()        ? last_error_
                       : transport.error().empty() ? "closed"
                                                   : transport.error().what();
  if (auth_failed_) {
    const std::string& user = options_.hosts.front().username;
    if (user.empty() && !options_.ssl_cert_file.empty())
      reason =
          "authentication failed for the client certificate's identity (SASL EXTERNAL; RabbitMQ: a user "
          "named as the certificate's CN): " +
          reason;
    else
      reason = "authentication failed for user '" + user + "': " + reason;
  } else if (tls_failed_) {
    reason = explain_tls_failure(reason, options_.hosts[current_host_].hostname, options_.ssl_ca_file);
  }
  const std::optional<Errc> refused = auth_failed_  ? std::optional(Errc::unauthorized)
                                      : tls_failed_ ? std::optional(Errc::tls_failed)
                                                    : std::nullopt;
  if (was_connected) logger_->warn("amqp: connection lost: {}", reason);
  management_->set_failure(refused, reason);
  // No close frame from the broker: a reset (kill -9, network, a 3.x session crash on a nack).
  const bool aborted = was_connected && !broker_closed_;
  machine_.on_disconnected(std::chrono::steady_clock::now(), reason, refused, aborted);
  execute();
}

// ---- I/O thread: the AMQP management link pair (RabbitMQ 4) ---------------------------------

std::string AmqpConnection::target_address(const std::string& v1_address) const {
  return v2_ ? v2_address(v1_address) : v1_address;
}

bool AmqpConnection::is_management(const proton::link& link) { return link.name().starts_with(kManagementPrefix); }

// A new pair's session must not take a channel the broker may still route to its old session.
void AmqpConnection::reopen_management() {
  if (!v2_ || !connected_) return;
  if (!attaches_may_begin()) {
    container_->schedule(to_duration(kChannelReuseGrace), [this] { reopen_management(); });
    return;
  }
  open_management();
  wake_io();
}

// Both halves share one name and carry properties {paired: true}, as RabbitMQ's management
// node requires; requests go pre-settled, responses come back on the receiver.
void AmqpConnection::open_management() {
  if (!connected_ || management_sender_ || stopping_) return;
  const std::string name = std::string(kManagementPrefix) + std::to_string(++management_generation_);
  const std::map<proton::symbol, proton::value> paired{{proton::symbol("paired"), proton::value(true)}};
  proton::session session = connection_.open_session();
  proton::sender_options sender_options;
  sender_options.name(name);
  sender_options.delivery_mode(proton::delivery_mode::AT_MOST_ONCE);
  sender_options.properties(paired);
  proton::receiver_options receiver_options;
  receiver_options.name(name);
  receiver_options.delivery_mode(proton::delivery_mode::AT_MOST_ONCE);
  receiver_options.credit_window(8);
  receiver_options.properties(paired);
  management_open_ = 0;
  management_sender_ = session.open_sender(kManagementNode, sender_options);
  management_receiver_ = session.open_receiver(kManagementNode, receiver_options);
}

void AmqpConnection::pump_management() {
  if (management_open_ < 2 || !management_sender_) return;
  while (management_sender_.credit() > 0) {
    std::optional<ManagementRequest> request = management_->take_unsent();
    if (!request) break;
    encode_management_request(*request, management_message_);
    management_sender_.send(management_message_);
  }
}

void AmqpConnection::management_lost(const std::string& why) {
  if (management_sender_ || management_receiver_) logger_->debug("amqp: management link pair closed: {}", why);
  management_sender_ = proton::sender();
  management_receiver_ = proton::receiver();
  management_open_ = 0;
  management_->fail_in_flight(why);
}

LinkId AmqpConnection::link_id_of(const proton::link& link) {
  const std::string name = link.name();
  if (name.compare(0, kLinkPrefix.size(), kLinkPrefix) != 0) return 0;
  LinkId id = 0;
  std::from_chars(name.data() + kLinkPrefix.size(), name.data() + name.size(), id);
  return id;
}

// One session per link: when the link is done, so is its session.
void AmqpConnection::link_closed(const proton::link& link, const proton::error_condition& error) {
  if (is_management(link)) {
    if (!management_sender_ || link.name() != management_sender_.name()) return;  // an old pair
    end_session(link.session());
    management_lost(error.empty() ? std::string("detached") : error.what());
    // Declarations keep being retried by their owners; a new pair serves them.
    container_->schedule(to_duration(options_.reconnect_delay), [this] { reopen_management(); });
    return;
  }
  LinkId id = link_id_of(link);
  if (id == 0) return;
  end_session(link.session());
  senders_.erase(id);
  receivers_.erase(id);
  machine_.on_link_closed(std::chrono::steady_clock::now(), id, broker_error(error));
  execute();
}

void AmqpConnection::on_session_error(proton::session& session) {
  // RabbitMQ reports bad addresses, missing queues and its own crashes by ending the session.
  proton::error_condition error = session.error();
  for (proton::sender sender : session.senders()) link_closed(sender, error);
  for (proton::receiver receiver : session.receivers()) link_closed(receiver, error);
  end_session(session);
}

// Proton 0.37 gives a new session the lowest free channel: the channel of one it just ended.
// RabbitMQ 4.0 drops a begin that reaches a channel whose session process it has not yet seen
// exit: before its end reply arrives, and also for a short while after it (its connection
// process forgets the channel only when the exit reaches it; rabbitmq-server #14317, fixed in
// 4.1); the link then never attaches. So while a session is ending, and for kChannelReuseGrace after the last
// end reply, new attaches wait (at most detach_timeout for a reply that never comes).
void AmqpConnection::end_session(proton::session session) {
  try {
    // active() = our end is open: a session we already ended (or never opened) is not counted
    // twice (a lost link ends its session, then the consumer's link-lost action tries again).
    if (!session || !session.active()) return;
    session.close();
    ++sessions_ending_;
    sessions_ending_since_ = std::chrono::steady_clock::now();
  } catch (const std::exception&) {
  }
}

void AmqpConnection::on_session_close(proton::session&) {
  if (sessions_ending_ > 0) --sessions_ending_;
  session_ended_at_ = std::chrono::steady_clock::now();
  if (sessions_ending_ == 0 && !deferred_attaches_.empty())
    container_->schedule(to_duration(kChannelReuseGrace), [this] {
      if (attaches_may_begin()) run_deferred_attaches();
    });
}

void AmqpConnection::run_deferred_attaches() {
  std::vector<Action> deferred;
  deferred.swap(deferred_attaches_);
  for (Action& action : deferred) std::visit([this](auto& a) { run(a); }, action);
}

bool AmqpConnection::attaches_may_begin() {
  const auto now = std::chrono::steady_clock::now();
  if (sessions_ending_ > 0 && now - sessions_ending_since_ > options_.detach_timeout)
    sessions_ending_ = 0;  // no end reply: stop waiting for it
  return sessions_ending_ == 0 && now - session_ended_at_ >= kChannelReuseGrace;
}

bool AmqpConnection::defer_attach(Action action) {
  if (attaches_may_begin()) return false;
  deferred_attaches_.push_back(std::move(action));
  return true;
}

void AmqpConnection::on_sender_open(proton::sender& sender) {
  if (is_management(sender)) {
    if (++management_open_ == 2) pump_management();
    return;
  }
  machine_.on_sender_opened(std::chrono::steady_clock::now(), link_id_of(sender));
  execute();
}

void AmqpConnection::on_sendable(proton::sender& sender) {
  if (is_management(sender)) return pump_management();
  machine_.on_sendable(std::chrono::steady_clock::now(), link_id_of(sender),
                       static_cast<std::uint32_t>(sender.credit()));
  execute();
}

void AmqpConnection::on_sender_error(proton::sender&) {}  // followed by on_sender_close
void AmqpConnection::on_sender_detach(proton::sender& sender) { link_closed(sender, sender.error()); }
void AmqpConnection::on_sender_close(proton::sender& sender) { link_closed(sender, sender.error()); }

void AmqpConnection::on_tracker_accept(proton::tracker& tracker) {
  machine_.on_outcome(std::chrono::steady_clock::now(), message_id_of(tracker), DeliveryOutcome::accepted);
  execute();
}

void AmqpConnection::on_tracker_reject(proton::tracker& tracker) {
  machine_.on_outcome(std::chrono::steady_clock::now(), message_id_of(tracker), DeliveryOutcome::rejected);
  execute();
}

void AmqpConnection::on_tracker_release(proton::tracker& tracker) {
  machine_.on_outcome(std::chrono::steady_clock::now(), message_id_of(tracker), DeliveryOutcome::released);
  execute();
}

void AmqpConnection::on_receiver_open(proton::receiver& receiver) {
  if (is_management(receiver)) {
    if (++management_open_ == 2) pump_management();
    return;
  }
  machine_.on_receiver_opened(std::chrono::steady_clock::now(), link_id_of(receiver));
  execute();
}

void AmqpConnection::on_message(proton::delivery& delivery, proton::message& message) {
  if (is_management(delivery.receiver())) {
    ManagementResponse response;
    std::uint64_t id = decode_management_response(message, response);
    if (!delivery.settled()) delivery.accept();
    management_->answer(id, std::move(response));
    return;
  }
  const LinkId link = link_id_of(delivery.receiver());
  const std::uint64_t id = next_delivery_++;
  deliveries_[id] = {link, delivery};
  const auto now = std::chrono::steady_clock::now();
  if (!machine_.on_delivery(now, link, id)) {
    execute();  // released: beyond the window, or the link is stopping
    return;
  }
  auto found = consumers_.find(machine_.link_consumer(link));
  ConsumerEntry* consumer = found == consumers_.end() ? nullptr : &found->second;
  ReadyDelivery ready;
  const proton::value& body = message.body();
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    ready.body.assign(bytes.begin(), bytes.end());
  } else if (body.type() == proton::STRING) {
    ready.body = proton::get<std::string>(body);
  } else {
    // Not something oslo or Herald sends; dead-letter it rather than loop on it.
    logger_->error("amqp: rejecting a message whose body is AMQP type {}", proton::type_name(body.type()));
    machine_.settle(now, link, id, Outcome::reject);
    execute();
    return;
  }
  ready.link_id = link;
  ready.delivery_id = id;
  ready.redelivered = !message.first_acquirer() || message.delivery_count() > 0;
  ready.delivery_count = message.delivery_count();
  if (consumer) ready.queue = consumer->queue;
  if (!consumer || !consumer->buffer->push(std::move(ready))) {
    machine_.settle(now, link, id, Outcome::requeue);
  } else if (std::find(unwoken_.begin(), unwoken_.end(), consumer->buffer) == unwoken_.end()) {
    // Proton runs the wake-up after the events it is handling now: one per read, not per message.
    if (unwoken_.empty()) connection_.wake();
    unwoken_.push_back(consumer->buffer);
  }
  execute();
}

void AmqpConnection::on_connection_wake(proton::connection&) { wake_takers(); }

void AmqpConnection::wake_takers() {
  for (const auto& buffer : unwoken_) buffer->wake_takers();
  unwoken_.clear();
}

void AmqpConnection::on_receiver_error(proton::receiver&) {}  // followed by detach or close
// RabbitMQ answers our detach(closed=true) with detach(closed=false): both mean "gone".
void AmqpConnection::on_receiver_detach(proton::receiver& receiver) { link_closed(receiver, receiver.error()); }
void AmqpConnection::on_receiver_close(proton::receiver& receiver) { link_closed(receiver, receiver.error()); }

void AmqpConnection::on_error(const proton::error_condition& condition) {
  // The default handler throws, which would unwind container::run().
  logger_->error("amqp: {}", condition.what());
}

}  // namespace herald::detail
