// LinkMachine: the consumer side (receiver links, credit bounded by the window, settlement,
// stop and re-attach).
#include "transports/amqp/link_machine.hpp"

#include <algorithm>

namespace herald::detail {

void LinkMachine::add_consumer(TimePoint, ConsumerId id, std::string queue, std::uint32_t credit_window) {
  Consumer& consumer = consumers_[id];
  consumer.queue = std::move(queue);
  consumer.window = std::max<std::uint32_t>(1, credit_window);
  if (stopping_) {
    forget_consumer(id);
    return;
  }
  if (connected_) attach_receiver(id, consumer);
  // The credentials or the TLS handshake were refused: say so now rather than after connect_timeout.
  if (refused_) emit(action::ConsumerFailed{id, *refused_, connection_problem_});
}

void LinkMachine::attach_receiver(ConsumerId id, Consumer& consumer) {
  consumer.link = next_link_++;
  consumer.state = LinkState::attaching;
  consumer.credit = 0;
  consumer.held.clear();
  receiver_links_[consumer.link] = id;
  emit(action::AttachReceiver{consumer.link, id, consumer.queue});
}

LinkMachine::Consumer* LinkMachine::consumer_of_link(LinkId link, ConsumerId* id) {
  auto it = receiver_links_.find(link);
  if (it == receiver_links_.end()) return nullptr;
  auto consumer = consumers_.find(it->second);
  if (consumer == consumers_.end() || consumer->second.link != link) return nullptr;
  if (id) *id = it->second;
  return &consumer->second;
}

ConsumerId LinkMachine::link_consumer(LinkId link) const {
  auto it = receiver_links_.find(link);
  return it == receiver_links_.end() ? 0 : it->second;
}

void LinkMachine::forget_consumer(ConsumerId id) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  if (it->second.link != 0) receiver_links_.erase(it->second.link);
  consumers_.erase(it);
  emit(action::ConsumerDetached{id});
}

void LinkMachine::on_receiver_opened(TimePoint, LinkId link) {
  ConsumerId id = 0;
  Consumer* consumer = consumer_of_link(link, &id);
  if (!consumer || consumer->state != LinkState::attaching) return;
  consumer->state = LinkState::attached;
  if (consumer->stopping) {
    consumer->state = LinkState::detaching;
    emit(action::Detach{link});
    return;
  }
  if (!consumer->ever_attached) emit(action::ConsumerAttached{id});
  consumer->ever_attached = true;
  consumer->backoff = {};
  consumer->problem.clear();
  top_up_credit(*consumer);
  update_status();
}

// RabbitMQ 3.10 treats the credit of each flow frame as new credit, on top of deliveries
// already on their way (it does not apply the AMQP delivery-count arithmetic). Granting a
// little after each settlement therefore ratchets the broker's credit far past the window.
// So credit is granted only when the previous grant is used up (nothing is in flight), and
// then exactly what keeps held + credit within the window.
void LinkMachine::top_up_credit(Consumer& consumer) {
  if (consumer.state != LinkState::attached || consumer.stopping || consumer.paused || consumer.credit > 0) return;
  const std::uint32_t held = static_cast<std::uint32_t>(consumer.held.size());
  if (held >= consumer.window) return;
  const std::uint32_t free = consumer.window - held;
  // Batches of at least half the window: fewer flow frames, same bound.
  if (held > 0 && free < std::max<std::uint32_t>(1, consumer.window / 2)) return;
  consumer.credit = free;
  emit(action::Grant{consumer.link, free});
}

bool LinkMachine::on_delivery(TimePoint, LinkId link, std::uint64_t delivery) {
  Consumer* consumer = consumer_of_link(link);
  if (!consumer || consumer->stopping || consumer->state != LinkState::attached ||
      consumer->held.size() >= consumer->window) {
    // Beyond the window (or for a link we are leaving): back to the queue at once.
    emit(action::Settle{link, delivery, Outcome::requeue});
    return false;
  }
  if (consumer->credit > 0) --consumer->credit;
  consumer->held.insert(delivery);
  return true;
}

void LinkMachine::settle(TimePoint, LinkId link, std::uint64_t delivery, Outcome outcome) {
  ConsumerId id = 0;
  Consumer* consumer = consumer_of_link(link, &id);
  // A delivery of a link that is gone was requeued by the broker: nothing to settle.
  if (!consumer || consumer->held.erase(delivery) == 0) return;
  emit(action::Settle{link, delivery, outcome});
  if (consumer->stopping) {
    if (consumer->held.empty() && consumer->state == LinkState::attached) {
      consumer->state = LinkState::detaching;
      emit(action::Detach{link});
    }
    return;
  }
  top_up_credit(*consumer);
}

void LinkMachine::pause_consumer(TimePoint, ConsumerId id) {
  auto it = consumers_.find(id);
  if (it != consumers_.end()) it->second.paused = true;
}

void LinkMachine::stop_consumer(TimePoint, ConsumerId id,
                                const std::vector<std::pair<LinkId, std::uint64_t>>& unpolled) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  Consumer& consumer = it->second;
  consumer.stopping = true;
  // What the application never saw goes back in one step, so a successor gets it at once.
  for (const auto& [link, delivery] : unpolled)
    if (link == consumer.link && consumer.held.erase(delivery) > 0)
      emit(action::Settle{link, delivery, Outcome::requeue});
  if (consumer.state == LinkState::none) {
    forget_consumer(id);
  } else if (consumer.state == LinkState::attached && consumer.held.empty()) {
    consumer.state = LinkState::detaching;
    emit(action::Detach{consumer.link});
  }
  update_status();
}

void LinkMachine::consumer_lost(TimePoint now, ConsumerId id, Consumer& consumer, const BrokerError& error) {
  const LinkId link = consumer.link;
  const std::string reason = error.condition.empty() ? "detached by the broker" : error.text();
  consumer.link = 0;
  consumer.state = LinkState::none;
  consumer.held.clear();
  consumer.credit = 0;
  emit(action::ConsumerLinkLost{id, link});
  if (!consumer.ever_attached)
    emit(action::ConsumerFailed{id, broker_errors::code(error), "queue '" + consumer.queue + "': " + reason});
  if (broker_errors::address_missing(error)) consumer.redeclare = true;
  ++consumer.backoff.failures;
  consumer.backoff.retry_at = now + backoff_delay(consumer.backoff.failures, options_.link_retry_max_delay);
  consumer.problem = "consumer of queue '" + consumer.queue + "' lost: " + reason;
  log(action::Log::warn, "amqp: " + consumer.problem);
}

void LinkMachine::on_consumer_declared(TimePoint now, ConsumerId id, const DeclareResult& result) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  Consumer& consumer = it->second;
  consumer.declaring = false;
  if (!result.code) {
    consumer.redeclare = false;
    if (connected_ && !consumer.stopping && consumer.state == LinkState::none) attach_receiver(id, consumer);
    return;
  }
  ++consumer.backoff.failures;
  consumer.backoff.retry_at = now + backoff_delay(consumer.backoff.failures, options_.link_retry_max_delay);
  consumer.problem = "declaring queue '" + consumer.queue + "' failed: " + result.reason;
  update_status();
}

}  // namespace herald::detail
