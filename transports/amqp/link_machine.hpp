#pragma once
// The lifecycle of the amqp driver's connection and links as one sans-I/O state machine:
// connect and reconnect (failover, backoff, slow retry after an authentication failure),
// declarations, sender and receiver links (attach, attached, re-attach with backoff, detach),
// receiver credit, the table of unsettled messages and their resend. It consumes events
// (methods named on_*) and emits actions (take_actions()) that a thin Proton adapter
// (AmqpConnection) executes. Time is an argument, never read: the unit tests drive it
// through scripted event sequences with no broker (tests/unit/link_machine_test.cpp).
// The semantics it implements are in docs/reliability.md ("What a send promises").

#include "core/rate_limited_log.hpp"
#include "transports/transport_driver.hpp"

#include <herald/transport.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace herald::detail {

using LinkId = std::uint64_t;      ///< unique per attach attempt: events of an old link are ignored
using ConsumerId = std::uint64_t;  ///< one per queue of a listener
using MessageId = std::uint64_t;   ///< a send, also its delivery tag

/// Knobs of the machine (from AmqpOptions).
struct LinkMachineOptions {
  std::size_t hosts = 1;
  std::chrono::milliseconds reconnect_delay{100};
  std::chrono::milliseconds reconnect_max_delay{10'000};
  std::chrono::milliseconds auth_retry_delay{30'000};
  /// Sender and receiver links re-attach with backoff from reconnect_delay up to this.
  std::chrono::milliseconds link_retry_max_delay{5'000};
  bool declare = true;  ///< false = topology=none: addresses are taken as declared
  /// Consecutive refusals of an address (declaration refused, attach refused) before the
  /// sends waiting for it fail with the broker's reason.
  int declare_attempts = 5;
  /// Re-check declared objects this often while sending (0 = never): RabbitMQ 3.x accepts
  /// messages it cannot route, so a deleted queue is only noticed this way.
  std::chrono::milliseconds topology_check_interval{1'000};
};

/// A link or declaration error as the broker reported it.
struct BrokerError {
  std::string condition;    ///< AMQP condition name, e.g. "amqp:not-found"
  std::string description;  ///< the broker's text
  std::string text() const { return description.empty() ? condition : condition + ": " + description; }
};

/// The outcome of a declaration run by the adapter.
struct DeclareResult {
  std::optional<Errc>
      code;  ///< nullopt (declared), or precondition_failed, unauthorized, unreachable, timeout, transport_error
  std::string reason;
};

enum class DeliveryOutcome { accepted, rejected, released, modified };

/// How the machine reads a broker error (RabbitMQ's conditions).
namespace broker_errors {
/// The exchange or queue is gone: declare it again.
inline bool address_missing(const BrokerError& e) {
  return e.condition == "amqp:not-found" || e.condition == "amqp:resource-deleted";
}
/// The broker refused the address itself: retrying alone cannot fix it.
inline bool refusal(const BrokerError& e) {
  return e.condition == "amqp:precondition-failed" || e.condition == "amqp:unauthorized-access" ||
         e.condition == "amqp:not-allowed" || e.condition == "amqp:invalid-field";
}
inline Errc code(const BrokerError& e) {
  if (e.condition == "amqp:precondition-failed") return Errc::precondition_failed;
  if (e.condition == "amqp:unauthorized-access") return Errc::unauthorized;
  return Errc::transport_error;
}
/// A declaration failure that retrying alone will not fix (unlike an unreachable API).
inline bool definitive(Errc code) {
  return code == Errc::precondition_failed || code == Errc::unauthorized || code == Errc::transport_error;
}
}  // namespace broker_errors

namespace action {
struct Connect {
  std::size_t host = 0;
};
struct CloseConnection {};
struct AttachSender {
  LinkId link = 0;
  std::string address;
};
struct AttachReceiver {
  LinkId link = 0;
  ConsumerId consumer = 0;
  std::string queue;
};
struct Detach {
  LinkId link = 0;
};
/// Send message `message` (see LinkMachine::message()) on `link`. At-most-once (presettled)
/// links: the adapter reports on_outcome(accepted) right after writing it.
struct Transfer {
  LinkId link = 0;
  MessageId message = 0;
};
/// Declare what `address` needs (exchange, queue, binding); `verify` = a periodic check.
struct Declare {
  std::string address;
  std::string exchange;
  std::string routing_key;
  bool verify = false;
};
/// Declare a consumer's queue again (it disappeared).
struct DeclareConsumer {
  ConsumerId consumer = 0;
};
struct Grant {
  LinkId link = 0;
  std::uint32_t credit = 0;
};
struct Settle {
  LinkId link = 0;
  std::uint64_t delivery = 0;
  Outcome outcome = Outcome::ack;
};
/// A send is finished: call its callback (error empty = confirmed).
struct Complete {
  MessageId message = 0;
  std::error_code error;
  std::string reason;
  SendCallback done;
  std::size_t bytes = 0;
};
struct ConsumerAttached {
  ConsumerId consumer = 0;
};
/// A consumer could not attach (listen() reports it) or the transport cannot consume.
struct ConsumerFailed {
  ConsumerId consumer = 0;
  Errc code = Errc::transport_error;
  std::string reason;
};
/// The consumer's link is gone: its deliveries not yet settled went back to the queue, so
/// copies waiting for poll() must be dropped.
struct ConsumerLinkLost {
  ConsumerId consumer = 0;
  LinkId link = 0;
};
/// A stopped consumer's link is detached (or abandoned): the consumer is forgotten.
struct ConsumerDetached {
  ConsumerId consumer = 0;
};
struct StatusChanged {
  TransportStatus status;
};
struct Log {
  enum Level { debug, info, warn, error } level = info;
  std::string text;
};
}  // namespace action

using Action = std::variant<action::Connect, action::CloseConnection, action::AttachSender, action::AttachReceiver,
                            action::Detach, action::Transfer, action::Declare, action::DeclareConsumer, action::Grant,
                            action::Settle, action::Complete, action::ConsumerAttached, action::ConsumerFailed,
                            action::ConsumerLinkLost, action::ConsumerDetached, action::StatusChanged, action::Log>;

/// **Thread safety:** none; the adapter calls it from the I/O thread only.
class LinkMachine {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  explicit LinkMachine(LinkMachineOptions options);

  /// Everything emitted since the last call, in order.
  std::vector<Action> take_actions();

  // ---- connection ------------------------------------------------------------------------
  void start(TimePoint now);
  void on_connected(TimePoint now);
  /// The transport closed or never opened. `refused` = nullopt, or why the peers refused each
  /// other so that retrying at once is pointless (Errc::unauthorized: the broker refused the
  /// credentials; Errc::tls_failed: the TLS handshake failed) - retried after auth_retry_delay;
  /// `aborted` = it dropped without the broker closing it (a reset: kill -9, network, or a
  /// RabbitMQ 3.x session crash on a publisher nack), as opposed to a close frame.
  void on_disconnected(TimePoint now, const std::string& reason, std::optional<Errc> refused, bool aborted = false);
  /// Timers: reconnect, link re-attach, declaration retries and checks, log summaries.
  void on_tick(TimePoint now);
  /// Shutdown: fails what waits, stops consumers, detaches. Then the adapter closes.
  void stop(TimePoint now);
  /// True once stop() ran and every consumer link is detached.
  bool stopped_and_detached() const;

  // ---- sends -----------------------------------------------------------------------------
  /// A new send (its window slot is already taken). Never fails by itself.
  void submit(TimePoint now, std::string address, std::string exchange, OutgoingMessage message, SendCallback done,
              std::size_t bytes);
  const OutgoingMessage& message(MessageId id) const;
  void on_declared(TimePoint now, const std::string& address, const DeclareResult& result);
  void on_sender_opened(TimePoint now, LinkId link);
  /// The sender may transfer `credit` more messages.
  void on_sendable(TimePoint now, LinkId link, std::uint32_t credit);
  void on_outcome(TimePoint now, MessageId id, DeliveryOutcome outcome, const BrokerError& error = {});

  // ---- consumers -------------------------------------------------------------------------
  void add_consumer(TimePoint now, ConsumerId consumer, std::string queue, std::uint32_t credit_window);
  void on_consumer_declared(TimePoint now, ConsumerId consumer, const DeclareResult& result);
  void on_receiver_opened(TimePoint now, LinkId link);
  /// A delivery arrived. True: hand it to the listener. False: it exceeded the credit window
  /// and a Settle(release) was emitted.
  bool on_delivery(TimePoint now, LinkId link, std::uint64_t delivery);
  /// The application settled a delivery (ignored when its link is gone: the broker requeued it).
  void settle(TimePoint now, LinkId link, std::uint64_t delivery, Outcome outcome);
  /// Grants the consumer no more credit (a server draining before it stops); what the broker
  /// already may send is still taken. Idempotent; stop_consumer still follows.
  void pause_consumer(TimePoint now, ConsumerId consumer);
  /// Stops a consumer: releases `unpolled` at once, detaches when what was polled is settled.
  void stop_consumer(TimePoint now, ConsumerId consumer, const std::vector<std::pair<LinkId, std::uint64_t>>& unpolled);

  // ---- links, both kinds -----------------------------------------------------------------
  /// The broker detached or closed the link, or ended its session (with `error` if any).
  void on_link_closed(TimePoint now, LinkId link, const BrokerError& error);
  /// A link we detached is done (or its detach timed out).
  void on_link_detached(TimePoint now, LinkId link);

  // ---- observers (tests, status, metrics) ------------------------------------------------
  TransportStatus status() const;
  std::size_t unconfirmed() const noexcept { return messages_.size(); }
  std::size_t held(ConsumerId consumer) const;
  bool connected() const noexcept { return connected_; }
  /// The consumer's current link (0 when none).
  LinkId consumer_link(ConsumerId consumer) const;
  /// The consumer a live receiver link belongs to (0 when none).
  ConsumerId link_consumer(LinkId link) const;

 private:
  enum class LinkState { none, attaching, attached, detaching };
  enum class DeclareState { needed, declaring, declared };

  struct Backoff {
    int failures = 0;
    TimePoint retry_at{};
  };
  struct Message {
    std::string address;
    OutgoingMessage body;
    SendCallback done;
    std::size_t bytes = 0;
    int resends = 0;
    LinkId on_wire = 0;  // the link it was transferred on, 0 = waiting
  };
  struct Address {
    std::string exchange;
    std::string routing_key;
    DeclareState declared = DeclareState::needed;
    bool verifying = false;
    TimePoint last_check{};
    LinkId link = 0;
    LinkState state = LinkState::none;
    Backoff backoff;
    int refusals = 0;  // consecutive definitive refusals (declaration or attach)
    std::uint32_t credit = 0;
    std::deque<MessageId> waiting;  // in send order
    std::size_t on_wire = 0;
    // RabbitMQ 3.x ends the session when it nacks a publish (queue full, reject-publish):
    // after repeated losses with messages on the wire and no accept, send one at a time.
    int lost_with_unsettled = 0;
    bool probing = false;
    bool refused = false;            // declare_attempts refusals in a row: new sends fail at once
    bool refused_by_broker = false;  // a lost probe: refused until the backoff ends
    Errc refused_code = Errc::transport_error;
    TimePoint last_send{};
    std::string problem;  // why it is not flowing (status reason)
  };
  struct Consumer {
    std::string queue;
    std::uint32_t window = 0;
    LinkId link = 0;
    LinkState state = LinkState::none;
    Backoff backoff;
    bool ever_attached = false;
    bool stopping = false;
    bool paused = false;  // no more credit
    bool redeclare = false;
    bool declaring = false;
    std::uint32_t credit = 0;      // granted and not yet used
    std::set<std::uint64_t> held;  // deliveries handed out and not settled
    std::string problem;
  };

  void emit(Action action) { actions_.push_back(std::move(action)); }
  void log(action::Log::Level level, std::string text) { emit(action::Log{level, std::move(text)}); }
  std::chrono::milliseconds backoff_delay(int failures, std::chrono::milliseconds max) const;
  void schedule_reconnect(TimePoint now, const std::string& reason, std::optional<Errc> refused, bool was_connected);
  void update_status();

  // sends
  void pump(TimePoint now, const std::string& name, Address& address);
  void attach_sender(const std::string& name, Address& address);
  void sender_lost(TimePoint now, const std::string& name, Address& address, const BrokerError& error);
  void requeue_on_wire(TimePoint now, const std::string& name, Address& address, const std::string& why);
  void refused_by_broker(TimePoint now, const std::string& name, Address& address);
  /// Fails what waits for `address` and every new send to it until it is retried.
  void refuse(TimePoint now, Address& address, Errc code, std::string problem);
  void finish(TimePoint now, MessageId id, std::error_code code, const std::string& reason);  ///< empty code: confirmed
  Address* address_of_link(LinkId link, std::string* name = nullptr);

  // consumers
  void attach_receiver(ConsumerId id, Consumer& consumer);
  void top_up_credit(Consumer& consumer);
  void consumer_lost(TimePoint now, ConsumerId id, Consumer& consumer, const BrokerError& error);
  Consumer* consumer_of_link(LinkId link, ConsumerId* id = nullptr);
  void forget_consumer(ConsumerId id);

  LinkMachineOptions options_;
  std::vector<Action> actions_;

  // connection
  bool started_ = false;
  bool connected_ = false;
  bool connecting_ = false;
  bool stopping_ = false;
  std::size_t host_ = 0;
  std::size_t failed_attempts_ = 0;
  TimePoint reconnect_at_{};
  std::optional<Errc> refused_;  ///< why the last connection attempt was refused (see on_disconnected)
  std::string connection_problem_ = "connecting";
  TransportStatus last_status_{TransportState::connecting, "connecting"};

  LinkId next_link_ = 1;
  MessageId next_message_ = 1;
  std::unordered_map<MessageId, Message> messages_;
  std::map<std::string, Address> addresses_;
  std::unordered_map<LinkId, std::string> sender_links_;  // live sender links -> address
  std::map<ConsumerId, Consumer> consumers_;
  std::unordered_map<LinkId, ConsumerId> receiver_links_;
  RateLimitedLog failure_log_{"sends failed"};
  static constexpr std::chrono::milliseconds kRefusalBackoffBase{1'000};
};

}  // namespace herald::detail
