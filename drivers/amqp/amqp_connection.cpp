#include "drivers/amqp/amqp_connection.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>
#include <proton/connection_options.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/session.hpp>
#include <proton/ssl.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>

#include <algorithm>
#include <future>

namespace herald::detail {
namespace {

constexpr auto kTickInterval = std::chrono::milliseconds(200);

proton::duration to_duration(std::chrono::milliseconds ms) {
  return proton::duration(static_cast<proton::duration::numeric_type>(ms.count()));
}

bool is_auth_failure(const proton::error_condition& condition) {
  return condition.name() == "amqp:unauthorized-access";
}

}  // namespace

AmqpConnection::AmqpConnection(AmqpOptions options, std::shared_ptr<spdlog::logger> logger,
                               std::shared_ptr<Topology> topology)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      topology_(std::move(topology)),
      window_(options_.in_flight_window) {
  container_ = std::make_unique<proton::container>(static_cast<proton::messaging_handler&>(*this), "herald");
  container_->auto_stop(false);
  work_queue_ = std::make_unique<proton::work_queue>(*container_);
  bridge_ = std::make_shared<Bridge>([this] { return post([this] { drain(); }); });
  send_ = std::make_unique<SendPipeline>(options_, logger_, window_);
  receivers_ = std::make_unique<ReceiverSet>(options_, logger_, [this](std::chrono::milliseconds delay, auto work) {
    container_->schedule(to_duration(delay), [this, work = std::move(work)] {
      work();
      flush_io();
    });
  });
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
    // Proton handles are released on the thread that used them.
    send_->fail_all(make_error_code(Errc::closed), "transport closed");
    send_.reset();
    receivers_.reset();
    connection_ = proton::connection();
  });
  started_future.wait();
}

AmqpConnection::~AmqpConnection() {
  window_.wait_empty(std::chrono::steady_clock::now() + options_.send_timeout);
  if (post([this] { begin_shutdown(); })) {
    // begin_shutdown stops the container at the latest after detach_timeout + 1 s.
  } else {
    container_->stop();
  }
  bridge_->close();
  io_thread_.join();
  if (topology_thread_.joinable()) topology_thread_.join();
  work_queue_.reset();
  container_.reset();
}

bool AmqpConnection::post(std::function<void()> work) {
  return work_queue_->add([this, work = std::move(work)] {
    work();
    flush_io();
  });
}

// Work that runs as a container task (not a connection event) must wake the connection, or
// Proton does not write the frames it produced until the next network event.
void AmqpConnection::flush_io() {
  if (connected_ && connection_) connection_.wake();
}

std::string AmqpConnection::current_host() const { return options_.hosts[host_index_].address(); }

// ---- caller threads -------------------------------------------------------------------

void AmqpConnection::send(std::string address, OutgoingMessage message, SendCallback done) {
  {
    std::lock_guard lock(state_mutex_);
    if (fatal_code_ != Errc::ok) {
      if (done) done(make_error_code(fatal_code_), {});
      return;
    }
  }
  // A callback that sends again runs on the I/O thread, which must never block.
  if (!(on_io_thread() ? window_.try_acquire() : window_.acquire(options_.send_timeout))) {
    if (done) done(make_error_code(on_io_thread() ? Errc::overflow : Errc::timeout), {});
    return;
  }
  SendRequest request{std::move(address), std::move(message), std::move(done),
                      std::chrono::steady_clock::now() + options_.send_timeout};
  if (!bridge_->push_send(request)) {
    window_.release();
    if (request.done) request.done(make_error_code(Errc::closed), {});
  }
}

std::shared_ptr<ListenerCore> AmqpConnection::listen(std::vector<QueueBinding> bindings, std::size_t credit_window) {
  {
    std::lock_guard lock(state_mutex_);
    if (fatal_code_ != Errc::ok) throw TransportError(fatal_code_, fatal_reason_);
  }
  auto core = std::make_shared<ListenerCore>(std::move(bindings), credit_window);
  if (!post([this, core] {
        receivers_->add(core, links_allowed_ ? &connection_ : nullptr);
        std::lock_guard lock(state_mutex_);
        if (fatal_code_ != Errc::ok) core->fail(fatal_code_, fatal_reason_);
      }))
    throw TransportError(Errc::closed, "amqp: transport is closed");
  auto [code, reason] = core->wait_attached(options_.connect_timeout);
  if (code == Errc::ok) return core;
  stop_listener(core);
  {
    std::lock_guard lock(state_mutex_);
    if (fatal_code_ != Errc::ok) throw TransportError(fatal_code_, fatal_reason_);
  }
  if (code == Errc::timeout) {
    if (!connected_)
      throw TransportError(Errc::unreachable, "amqp: no broker reachable within connect_timeout (hosts tried: " +
                                                  std::to_string(options_.hosts.size()) + ")");
    throw TransportError(Errc::timeout, "amqp: consumer links not attached within connect_timeout");
  }
  throw TransportError(code, "amqp: cannot consume " + reason);
}

void AmqpConnection::stop_listener(const std::shared_ptr<ListenerCore>& core) {
  auto unpolled = std::make_shared<std::vector<ReadyDelivery>>(core->stop());
  if (!post([this, core, unpolled] {
        if (receivers_) receivers_->stop(core, *unpolled);
      }))
    return;
  core->wait_detached(options_.detach_timeout + std::chrono::milliseconds(500));
}

// ---- I/O thread: connection lifecycle -------------------------------------------------

void AmqpConnection::on_container_start(proton::container&) {
  connect();
  container_->schedule(to_duration(kTickInterval), [this] { tick(); });
}

void AmqpConnection::connect() {
  if (stopping_) return;
  const AmqpHost& host = options_.hosts[host_index_];
  proton::connection_options co;
  co.idle_timeout(to_duration(options_.idle_timeout));
  if (!host.username.empty()) {
    // With credentials, never let Proton fall back to ANONYMOUS (it would log in as guest).
    co.user(host.username).password(host.password);
    co.sasl_allow_insecure_mechs(true);
    co.sasl_allowed_mechs(options_.sasl_mechanisms.empty() ? "PLAIN" : options_.sasl_mechanisms);
  } else if (!options_.sasl_mechanisms.empty()) {
    co.sasl_allowed_mechs(options_.sasl_mechanisms);
  }
  // RabbitMQ's AMQP 1.0 plugin picks the vhost from the open frame's hostname "vhost:<name>".
  if (!options_.virtual_host.empty()) co.virtual_host("vhost:" + options_.virtual_host);
  if (options_.tls) {
    if (!options_.ssl_ca_file.empty())
      co.ssl_client_options(proton::ssl_client_options(
          options_.ssl_ca_file, options_.ssl_verify ? proton::ssl::VERIFY_PEER_NAME : proton::ssl::ANONYMOUS_PEER));
    else
      co.ssl_client_options(options_.ssl_verify ? proton::ssl_client_options()
                                                : proton::ssl_client_options(proton::ssl::ANONYMOUS_PEER));
  }
  logger_->debug("amqp: connecting to {}", host.address());
  connection_ = container_->connect((options_.tls ? "amqps://" : "amqp://") + host.address(), co);
}

void AmqpConnection::on_connection_open(proton::connection& connection) {
  connection_ = connection;
  bool reconnected = ever_connected_;
  ever_connected_ = true;
  failed_attempts_ = 0;
  connected_ = true;
  ++generation_;
  logger_->info("amqp: connected to {}{}", current_host(), reconnected ? " (reconnected)" : "");
  if (reconnected && topology_->enabled()) {
    // A restarted broker forgot non-durable exchanges and queues: declare them again (HTTP,
    // off the I/O thread) before the links attach.
    if (topology_thread_.joinable()) topology_thread_.join();
    std::uint64_t generation = generation_;
    topology_thread_ = std::thread([this, generation] {
      topology_->redeclare_all();
      post([this, generation] {
        if (generation == generation_ && connected_) attach_links();
      });
    });
  } else {
    attach_links();
  }
}

void AmqpConnection::attach_links() {
  if (stopping_) return;
  links_allowed_ = true;
  send_->on_connected(connection_);
  receivers_->on_connected(connection_);
}

void AmqpConnection::on_connection_error(proton::connection& connection) {
  proton::error_condition condition = connection.error();
  if (is_auth_failure(condition)) {
    fail_fatal(Errc::unauthorized, "amqp: broker " + current_host() + " refused access: " + condition.what());
    return;
  }
  logger_->warn("amqp: connection to {} closed by the broker: {}", current_host(), condition.what());
}

void AmqpConnection::on_transport_error(proton::transport& transport) {
  proton::error_condition condition = transport.error();
  if (is_auth_failure(condition)) {
    const std::string& user = options_.hosts[host_index_].username;
    fail_fatal(Errc::unauthorized,
               "amqp: authentication failed for user '" + user + "' at " + current_host() + ": " + condition.what());
    return;
  }
  if (!stopping_) logger_->debug("amqp: transport to {} failed: {}", current_host(), condition.what());
}

void AmqpConnection::on_transport_close(proton::transport& transport) {
  bool was_connected = connected_;
  connected_ = false;
  links_allowed_ = false;
  ++generation_;
  send_->on_disconnected();
  receivers_->on_disconnected();
  connection_ = proton::connection();
  if (stopping_) {
    container_->stop();
    return;
  }
  {
    std::lock_guard lock(state_mutex_);
    if (fatal_code_ != Errc::ok) return;  // no reconnect storm after an authentication failure
  }
  std::string reason = transport.error().empty() ? "closed" : transport.error().what();
  if (was_connected) logger_->warn("amqp: connection to {} lost: {}", current_host(), reason);
  schedule_reconnect(reason);
}

void AmqpConnection::schedule_reconnect(const std::string& reason) {
  ++failed_attempts_;
  const std::size_t hosts = options_.hosts.size();
  host_index_ = (host_index_ + 1) % hosts;
  // Each round tries every host at once; rounds back off exponentially up to the maximum.
  std::chrono::milliseconds delay{0};
  if (failed_attempts_ >= hosts) {
    std::size_t round = failed_attempts_ / hosts - 1;
    delay = options_.reconnect_delay * (1LL << std::min<std::size_t>(round, 20));
    delay = std::min(delay, options_.reconnect_max_delay);
  }
  if (failed_attempts_ <= hosts || failed_attempts_ % 10 == 0)
    logger_->warn("amqp: cannot reach {} ({}); trying {} in {} ms (attempt {})",
                  options_.hosts[(host_index_ + hosts - 1) % hosts].address(), reason, current_host(), delay.count(),
                  failed_attempts_);
  container_->schedule(to_duration(delay), [this] { connect(); });
}

void AmqpConnection::fail_fatal(Errc code, const std::string& reason) {
  {
    std::lock_guard lock(state_mutex_);
    if (fatal_code_ != Errc::ok) return;
    fatal_code_ = code;
    fatal_reason_ = reason;
  }
  logger_->error("{}; not reconnecting", reason);
  send_->fail_all(make_error_code(code), reason);
  receivers_->fail_all(code, reason);
}

void AmqpConnection::tick() {
  if (stopping_) return;
  auto now = std::chrono::steady_clock::now();
  send_->expire(now, connected_);
  if (links_allowed_) receivers_->retry_failed(connection_, now);
  flush_io();
  container_->schedule(to_duration(kTickInterval), [this] { tick(); });
}

void AmqpConnection::drain() {
  std::vector<SendRequest> sends;
  std::vector<SettleRequest> settles;
  bridge_->take(sends, settles);
  if (!send_) return;
  for (const SettleRequest& settle : settles) receivers_->settle(settle.link_id, settle.delivery_id, settle.outcome);
  Errc fatal;
  {
    std::lock_guard lock(state_mutex_);
    fatal = fatal_code_;
  }
  for (SendRequest& request : sends) {
    if (stopping_ || fatal != Errc::ok) {
      window_.release();
      if (request.done) request.done(make_error_code(stopping_ ? Errc::closed : fatal), {});
      continue;
    }
    send_->enqueue(std::move(request), links_allowed_ ? &connection_ : nullptr);
  }
}

void AmqpConnection::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  send_->fail_all(make_error_code(Errc::closed), "transport closed");
  receivers_->stop_all();
  send_->close_links();
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
  *check = [this, deadline, weak_check] {
    if (!connected_) return;
    if (receivers_->all_detached() || std::chrono::steady_clock::now() >= deadline) {
      connection_.close();
      flush_io();
      // Do not wait forever for the broker's close reply.
      container_->schedule(to_duration(std::chrono::milliseconds(1000)), [this] { container_->stop(); });
      return;
    }
    flush_io();
    if (auto again = weak_check.lock())
      container_->schedule(to_duration(std::chrono::milliseconds(20)), [again] { (*again)(); });
  };
  (*check)();
}

// ---- I/O thread: link events ------------------------------------------------------------

void AmqpConnection::on_session_error(proton::session& session) {
  std::string reason = session.error().what();
  for (proton::sender sender : session.senders()) send_->on_sender_failed(sender, reason);
  for (proton::receiver receiver : session.receivers()) receivers_->on_receiver_gone(receiver, reason);
  session.close();
}

void AmqpConnection::on_sender_open(proton::sender& sender) { send_->on_sender_open(sender); }
void AmqpConnection::on_sendable(proton::sender& sender) { send_->on_sendable(sender); }
void AmqpConnection::on_sender_error(proton::sender& sender) { send_->on_sender_failed(sender, sender.error().what()); }
void AmqpConnection::on_sender_close(proton::sender& sender) {
  if (!stopping_) send_->on_sender_failed(sender, "sender link closed by the broker");
}
void AmqpConnection::on_tracker_accept(proton::tracker& tracker) { send_->on_tracker_accept(tracker); }
void AmqpConnection::on_tracker_reject(proton::tracker& tracker) { send_->on_tracker_reject(tracker); }
void AmqpConnection::on_tracker_release(proton::tracker& tracker) { send_->on_tracker_release(tracker); }

void AmqpConnection::on_receiver_open(proton::receiver& receiver) { receivers_->on_receiver_open(receiver); }
void AmqpConnection::on_message(proton::delivery& delivery, proton::message& message) {
  receivers_->on_message(delivery, message);
}
// RabbitMQ answers our detach(closed=true) with detach(closed=false): both mean "gone".
void AmqpConnection::on_receiver_detach(proton::receiver& receiver) {
  receivers_->on_receiver_gone(receiver, receiver.error().what());
}
void AmqpConnection::on_receiver_close(proton::receiver& receiver) {
  receivers_->on_receiver_gone(receiver, receiver.error().what());
}
void AmqpConnection::on_receiver_error(proton::receiver&) {}  // followed by on_receiver_close

void AmqpConnection::on_error(const proton::error_condition& condition) {
  // The default handler throws, which would unwind container::run().
  logger_->error("amqp: {}", condition.what());
}

}  // namespace herald::detail
