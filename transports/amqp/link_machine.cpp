#include "transports/amqp/link_machine.hpp"

#include <algorithm>

namespace herald::detail {
namespace {

// RabbitMQ 3.x cannot report a publisher nack over AMQP 1.0: its session process crashes on
// it and the connection resets ~3 s later with the messages unconfirmed. After this many losses
// in a row with messages to one address on the wire and no accept between them, that address
// sends one message at a time; a loss with only that probe on the wire is the broker refusing.
constexpr int kLossesBeforeProbing = 2;

}  // namespace

LinkMachine::LinkMachine(LinkMachineOptions options) : options_(std::move(options)) {
  if (options_.hosts == 0) options_.hosts = 1;
  if (options_.declare_attempts < 1) options_.declare_attempts = 1;
}

std::vector<Action> LinkMachine::take_actions() {
  std::vector<Action> out;
  out.swap(actions_);
  return out;
}

std::chrono::milliseconds LinkMachine::backoff_delay(int failures, std::chrono::milliseconds max) const {
  if (failures <= 0) return std::chrono::milliseconds(0);
  auto delay = options_.reconnect_delay * (1LL << std::min(failures - 1, 20));
  return std::min<std::chrono::milliseconds>(delay, max);
}

// ---- connection ------------------------------------------------------------------------------

void LinkMachine::start(TimePoint) {
  if (started_) return;
  started_ = true;
  connecting_ = true;
  emit(action::Connect{host_});
  update_status();
}

void LinkMachine::on_connected(TimePoint now) {
  if (stopping_) return;
  connected_ = true;
  connecting_ = false;
  failed_attempts_ = 0;
  refused_.reset();
  connection_problem_.clear();
  std::vector<ConsumerId> finished;
  for (auto& [id, consumer] : consumers_) {
    if (consumer.stopping) {
      finished.push_back(id);
    } else if (now >= consumer.backoff.retry_at) {
      if (consumer.redeclare && options_.declare) {
        consumer.declaring = true;
        emit(action::DeclareConsumer{id});
      } else {
        attach_receiver(id, consumer);
      }
    }
  }
  for (ConsumerId id : finished) forget_consumer(id);
  for (auto& [name, address] : addresses_) pump(now, name, address);
  update_status();
}

void LinkMachine::on_disconnected(TimePoint now, const std::string& reason, std::optional<Errc> refused, bool aborted) {
  const bool was_connected = connected_;
  connected_ = false;
  connecting_ = false;
  for (auto& [name, address] : addresses_) {
    if (address.on_wire > 0) {
      // Only resets count: a forced close or a restart (close frames) says nothing about refusals.
      const bool probe_lost = aborted && address.probing && address.on_wire == 1;
      // Nothing confirmed these: resend after the reconnect (duplicates possible, no loss)...
      requeue_on_wire(now, name, address, "connection lost: " + reason);
      if (probe_lost) {
        // ...unless the broker keeps refusing: see kLossesBeforeProbing.
        refused_by_broker(now, name, address);
      } else if (aborted && ++address.lost_with_unsettled >= kLossesBeforeProbing && !address.probing) {
        address.probing = true;
        address.problem = "connection lost " + std::to_string(address.lost_with_unsettled) +
                          " times in a row with messages to '" + name +
                          "' unconfirmed and none accepted; sending one at a time";
        log(action::Log::warn, "amqp: " + address.problem);
      }
    }
    address.link = 0;
    address.state = LinkState::none;
    address.credit = 0;
    address.verifying = false;
    // A restarted broker forgot non-durable exchanges and queues, and RabbitMQ 3.x would accept
    // (and drop) messages to an exchange whose queue is gone: declare again before sending.
    if (options_.declare) address.declared = DeclareState::needed;
  }
  sender_links_.clear();
  std::vector<ConsumerId> finished;
  for (auto& [id, consumer] : consumers_) {
    if (consumer.link != 0) emit(action::ConsumerLinkLost{id, consumer.link});
    consumer.link = 0;
    consumer.state = LinkState::none;
    consumer.held.clear();  // the broker requeues what was unsettled
    consumer.credit = 0;
    consumer.declaring = false;
    if (consumer.stopping) finished.push_back(id);
  }
  receiver_links_.clear();
  for (ConsumerId id : finished) forget_consumer(id);
  if (stopping_) {
    update_status();
    return;
  }
  schedule_reconnect(now, reason, refused, was_connected);
  update_status();
}

void LinkMachine::schedule_reconnect(TimePoint now, const std::string& reason, std::optional<Errc> refused,
                                     bool was_connected) {
  if (refused) {
    refused_ = refused;
    connection_problem_ = reason;
    reconnect_at_ = now + options_.auth_retry_delay;
    log(action::Log::error,
        "amqp: " + reason + "; retrying in " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.auth_retry_delay).count()) + " s");
    for (auto& [id, consumer] : consumers_)
      if (!consumer.ever_attached && !consumer.stopping) emit(action::ConsumerFailed{id, *refused, reason});
    return;
  }
  ++failed_attempts_;
  const std::size_t hosts = options_.hosts;
  host_ = (host_ + 1) % hosts;
  // Each round tries every host at once; rounds back off exponentially up to the maximum.
  std::chrono::milliseconds delay{0};
  if (failed_attempts_ >= hosts)
    delay = backoff_delay(static_cast<int>(failed_attempts_ / hosts), options_.reconnect_max_delay);
  reconnect_at_ = now + delay;
  if (!refused_) connection_problem_ = "no broker reachable: " + reason;
  // The adapter already said the connection was lost; log failed attempts, sparsely.
  if (!was_connected && (failed_attempts_ <= hosts + 1 || failed_attempts_ % 10 == 0))
    log(action::Log::warn, "amqp: connection failed (" + reason + "); next attempt in " +
                               std::to_string(delay.count()) + " ms (attempt " + std::to_string(failed_attempts_) +
                               ")");
}

void LinkMachine::on_tick(TimePoint now) {
  for (const std::string& line : failure_log_.summaries(now)) log(action::Log::warn, "amqp: " + line);
  if (stopping_ || !started_) return;
  if (!connected_) {
    if (!connecting_ && now >= reconnect_at_) {
      connecting_ = true;
      emit(action::Connect{host_});
    }
    update_status();
    return;
  }
  for (auto& [name, address] : addresses_) {
    if (options_.declare && options_.topology_check_interval.count() > 0 &&
        address.declared == DeclareState::declared && !address.verifying &&
        now - address.last_check >= options_.topology_check_interval &&
        now - address.last_send < options_.topology_check_interval * 2) {
      address.verifying = true;
      address.last_check = now;
      emit(action::Declare{name, address.exchange, address.routing_key, true});
    }
    if (address.refused_by_broker && now >= address.backoff.retry_at) {
      address.refused = address.refused_by_broker = false;  // the next send probes again
    }
    if (address.refused && address.declared == DeclareState::needed && now >= address.backoff.retry_at &&
        now - address.last_send < options_.link_retry_max_delay * 2) {
      address.declared = DeclareState::declaring;
      emit(action::Declare{name, address.exchange, address.routing_key, false});
    }
    pump(now, name, address);
  }
  for (auto& [id, consumer] : consumers_) {
    if (consumer.stopping || consumer.state != LinkState::none || consumer.declaring) continue;
    if (now < consumer.backoff.retry_at) continue;
    if (consumer.redeclare && options_.declare) {
      consumer.declaring = true;
      emit(action::DeclareConsumer{id});
    } else {
      attach_receiver(id, consumer);
    }
  }
  update_status();
}

void LinkMachine::stop(TimePoint now) {
  if (stopping_) return;
  stopping_ = true;
  std::vector<MessageId> ids;
  for (const auto& [id, message] : messages_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (MessageId id : ids) finish(now, id, Errc::closed, "transport closed before the broker confirmed it");
  for (auto& [name, address] : addresses_) {
    address.waiting.clear();
    address.on_wire = 0;
    if (address.state == LinkState::attached || address.state == LinkState::attaching) {
      address.state = LinkState::detaching;
      emit(action::Detach{address.link});
    }
  }
  std::vector<ConsumerId> finished;
  for (auto& [id, consumer] : consumers_) {
    consumer.stopping = true;
    if (!connected_ || consumer.state == LinkState::none) {
      finished.push_back(id);
    } else if (consumer.state == LinkState::attached && consumer.held.empty()) {
      consumer.state = LinkState::detaching;
      emit(action::Detach{consumer.link});
    }
  }
  for (ConsumerId id : finished) forget_consumer(id);
  for (const std::string& line : failure_log_.summaries(now, true)) log(action::Log::warn, "amqp: " + line);
}

bool LinkMachine::stopped_and_detached() const { return stopping_ && consumers_.empty(); }

// ---- status ----------------------------------------------------------------------------------

TransportStatus LinkMachine::status() const {
  if (refused_) return {TransportState::failed, connection_problem_};
  if (!connected_)
    return {TransportState::connecting, connection_problem_.empty() ? "connecting" : connection_problem_};
  for (const auto& [name, address] : addresses_)
    if (!address.problem.empty()) return {TransportState::degraded, address.problem};
  for (const auto& [id, consumer] : consumers_)
    if (!consumer.problem.empty() && !consumer.stopping) return {TransportState::degraded, consumer.problem};
  return {TransportState::connected, {}};
}

void LinkMachine::update_status() {
  TransportStatus now = status();
  if (now.state == last_status_.state && now.reason == last_status_.reason) return;
  last_status_ = now;
  emit(action::StatusChanged{std::move(now)});
}

std::size_t LinkMachine::held(ConsumerId consumer) const {
  auto it = consumers_.find(consumer);
  return it == consumers_.end() ? 0 : it->second.held.size();
}

LinkId LinkMachine::consumer_link(ConsumerId consumer) const {
  auto it = consumers_.find(consumer);
  return it == consumers_.end() ? 0 : it->second.link;
}

// ---- links of both kinds ---------------------------------------------------------------------

void LinkMachine::on_link_closed(TimePoint now, LinkId link, const BrokerError& error) {
  std::string name;
  if (Address* address = address_of_link(link, &name)) {
    sender_links_.erase(link);
    if (address->state == LinkState::detaching) {
      address->state = LinkState::none;
      address->link = 0;
    } else {
      sender_lost(now, name, *address, error);
    }
    update_status();
    return;
  }
  ConsumerId id = 0;
  if (Consumer* consumer = consumer_of_link(link, &id)) {
    receiver_links_.erase(link);
    if (consumer->stopping)
      forget_consumer(id);
    else
      consumer_lost(now, id, *consumer, error);
    update_status();
  }
}

void LinkMachine::on_link_detached(TimePoint now, LinkId link) { on_link_closed(now, link, {}); }

}  // namespace herald::detail
