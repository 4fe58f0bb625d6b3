// LinkMachine: the send side (addresses, declarations, sender links, the unsettled table).
#include "transports/amqp/link_machine.hpp"

#include <algorithm>

namespace herald::detail {

void LinkMachine::submit(TimePoint now, std::string address_name, std::string exchange, OutgoingMessage message,
                         SendCallback done, std::size_t bytes) {
  MessageId id = next_message_++;
  auto [it, created] = addresses_.try_emplace(address_name);
  Address& address = it->second;
  if (created) {
    address.exchange = std::move(exchange);
    address.routing_key = message.routing_key;
    if (!options_.declare) address.declared = DeclareState::declared;
  }
  address.last_send = now;
  messages_.emplace(id, Message{address_name, std::move(message), std::move(done), bytes});
  if (stopping_) {
    finish(now, id, Errc::closed, "transport closed");
    return;
  }
  if (address.refused) {
    finish(now, id, address.refused_code, address.problem);
    return;
  }
  address.waiting.push_back(id);
  pump(now, it->first, address);
}

const OutgoingMessage& LinkMachine::message(MessageId id) const { return messages_.at(id).body; }

void LinkMachine::pump(TimePoint now, const std::string& name, Address& address) {
  if (!connected_ || stopping_ || address.refused) return;
  if (address.declared != DeclareState::declared) {
    if (address.declared == DeclareState::needed && now >= address.backoff.retry_at &&
        (!address.waiting.empty() || address.on_wire > 0)) {
      address.declared = DeclareState::declaring;
      emit(action::Declare{name, address.exchange, address.routing_key, false});
    }
    return;
  }
  if (address.state == LinkState::none) {
    if (!address.waiting.empty() && now >= address.backoff.retry_at) attach_sender(name, address);
    return;
  }
  if (address.state != LinkState::attached) return;
  while (!address.waiting.empty() && address.credit > 0 && (!address.probing || address.on_wire == 0)) {
    MessageId id = address.waiting.front();
    address.waiting.pop_front();
    --address.credit;
    // At-most-once too: the adapter reports `accepted` once the settled transfer is written
    // (the message must outlive the Transfer action).
    emit(action::Transfer{address.link, id});
    messages_.at(id).on_wire = address.link;
    ++address.on_wire;
  }
}

void LinkMachine::attach_sender(const std::string& name, Address& address) {
  address.link = next_link_++;
  address.state = LinkState::attaching;
  address.credit = 0;
  sender_links_[address.link] = name;
  emit(action::AttachSender{address.link, name});
}

LinkMachine::Address* LinkMachine::address_of_link(LinkId link, std::string* name) {
  auto it = sender_links_.find(link);
  if (it == sender_links_.end()) return nullptr;
  auto address = addresses_.find(it->second);
  if (address == addresses_.end() || address->second.link != link) return nullptr;
  if (name) *name = it->second;
  return &address->second;
}

void LinkMachine::on_declared(TimePoint now, const std::string& name, const DeclareResult& result) {
  auto it = addresses_.find(name);
  if (it == addresses_.end()) return;
  Address& address = it->second;
  if (address.declared == DeclareState::declared) {
    // A periodic check: the declaration also repaired whatever had disappeared.
    address.verifying = false;
    if (result.code) log(action::Log::warn, "amqp: checking the topology of '" + name + "' failed: " + result.reason);
    return;
  }
  if (!result.code) {
    address.declared = DeclareState::declared;
    address.refused = false;
    address.refusals = 0;
    address.backoff.failures = 0;
    address.backoff.retry_at = {};
    if (!address.probing) address.problem.clear();
    address.last_check = now;
    pump(now, name, address);
    update_status();
    return;
  }
  address.declared = DeclareState::needed;
  ++address.backoff.failures;
  address.backoff.retry_at = now + backoff_delay(address.backoff.failures, options_.link_retry_max_delay);
  address.problem = result.reason;
  if (broker_errors::definitive(*result.code) && ++address.refusals >= options_.declare_attempts)
    refuse(now, address, *result.code,
           "'" + name + "' refused " + std::to_string(address.refusals) + " times: " + result.reason);
  update_status();
}

void LinkMachine::on_sender_opened(TimePoint, LinkId link) {
  if (Address* address = address_of_link(link)) {
    if (address->state == LinkState::attaching) address->state = LinkState::attached;
  }
}

void LinkMachine::on_sendable(TimePoint now, LinkId link, std::uint32_t credit) {
  std::string name;
  Address* address = address_of_link(link, &name);
  if (!address || address->state != LinkState::attached) return;
  address->credit = credit;
  pump(now, name, *address);
}

void LinkMachine::on_outcome(TimePoint now, MessageId id, DeliveryOutcome outcome, const BrokerError& error) {
  auto it = messages_.find(id);
  if (it == messages_.end() || it->second.on_wire == 0) return;  // from a link already given up
  Message& message = it->second;
  auto found = addresses_.find(message.address);
  Address& address = found->second;
  const std::string& name = found->first;
  message.on_wire = 0;
  --address.on_wire;
  switch (outcome) {
    case DeliveryOutcome::accepted:
      address.lost_with_unsettled = 0;
      address.probing = false;
      address.backoff.failures = 0;
      address.refusals = 0;
      address.problem.clear();
      finish(now, id, {}, {});
      break;
    case DeliveryOutcome::rejected:
      // The broker said no for this message (e.g. a full queue with overflow=reject-publish).
      // RabbitMQ 4.0 rejects with no error at all when a queue refuses the message: full with
      // overflow=reject-publish, or unavailable (later releases say which); say that much.
      finish(now, id, Errc::rejected,
             "rejected by the broker" +
                 (error.condition.empty()
                      ? std::string(" without a reason (RabbitMQ: a queue is full with overflow=reject-publish, "
                                    "or unavailable)")
                      : ": " + error.text()) +
                 " at '" + name + "'");
      break;
    case DeliveryOutcome::released:
    case DeliveryOutcome::modified:
      // Not queued (RabbitMQ 4: unroutable): declare again, then resend.
      if (message.body.retry >= 0 && message.resends >= message.body.retry) {
        finish(now, id, Errc::rejected, "not routable to a queue at '" + name + "'");
        break;
      }
      ++message.resends;
      // Back in send order (ids grow with sends) among what waits.
      address.waiting.insert(std::upper_bound(address.waiting.begin(), address.waiting.end(), id), id);
      // A whole window released together is one missing route: count one failure, not one
      // per message (the backoff would otherwise reach its maximum at once).
      if (address.declared != DeclareState::needed || !options_.declare) {
        ++address.backoff.failures;
        address.backoff.retry_at = now + backoff_delay(address.backoff.failures, options_.link_retry_max_delay);
      }
      if (options_.declare) address.declared = DeclareState::needed;
      break;
  }
  pump(now, name, address);
  update_status();
}

void LinkMachine::requeue_on_wire(TimePoint now, const std::string& name, Address& address, const std::string& why) {
  std::vector<MessageId> ids;
  for (const auto& [id, message] : messages_)
    if (message.on_wire != 0 && message.address == name) ids.push_back(id);
  std::sort(ids.begin(), ids.end(), std::greater<>());
  std::vector<MessageId> exhausted;
  for (MessageId id : ids) {
    Message& message = messages_.at(id);
    message.on_wire = 0;
    // oslo's retry: -1 keeps trying, N allows N resends.
    if (message.body.retry >= 0 && message.resends >= message.body.retry) {
      exhausted.push_back(id);
    } else {
      ++message.resends;
      address.waiting.push_front(id);
    }
  }
  address.on_wire = 0;
  std::sort(exhausted.begin(), exhausted.end());
  for (MessageId id : exhausted)
    finish(now, id, Errc::transport_error,
           "not confirmed after " + std::to_string(messages_.at(id).resends) + " resend(s) (retry): " + why);
}

void LinkMachine::sender_lost(TimePoint now, const std::string& name, Address& address, const BrokerError& error) {
  address.link = 0;
  address.state = LinkState::none;
  address.credit = 0;
  const std::string reason = error.condition.empty() ? "detached by the broker" : error.text();
  if (broker_errors::address_missing(error) && options_.declare) {
    address.declared = DeclareState::needed;
  } else if (broker_errors::address_missing(error) || broker_errors::refusal(error)) {
    ++address.refusals;
  }
  if (address.on_wire > 0) requeue_on_wire(now, name, address, reason);
  ++address.backoff.failures;
  address.backoff.retry_at = now + backoff_delay(address.backoff.failures, options_.link_retry_max_delay);
  address.problem = "sender link to '" + name + "' lost: " + reason;
  log(action::Log::warn, "amqp: " + address.problem);
  if (address.refusals >= options_.declare_attempts)
    refuse(now, address, broker_errors::code(error),
           "'" + name + "' refused " + std::to_string(address.refusals) + " times: " + reason);
}

void LinkMachine::refuse(TimePoint now, Address& address, Errc code, std::string problem) {
  address.refused = true;
  address.refused_code = code;
  address.problem = std::move(problem);
  address.refusals = 0;
  std::deque<MessageId> waiting;
  waiting.swap(address.waiting);
  for (MessageId id : waiting) finish(now, id, code, address.problem);
}

void LinkMachine::refused_by_broker(TimePoint now, const std::string& name, Address& address) {
  ++address.backoff.failures;
  address.backoff.retry_at =
      now + std::min<std::chrono::milliseconds>(
                kRefusalBackoffBase * (1LL << std::min(address.backoff.failures - 1, 10)), options_.auth_retry_delay);
  address.refused_by_broker = true;
  refuse(now, address, Errc::rejected,
         "'" + name +
             "': the broker refuses messages to it (queue full with overflow=reject-publish?): RabbitMQ 3.x ended the "
             "connection each time a message to it was unconfirmed and none was accepted, last with only one on the "
             "wire");
}

void LinkMachine::finish(TimePoint now, MessageId id, std::error_code code, const std::string& reason) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  action::Complete complete{id, code, reason, std::move(it->second.done), it->second.bytes};
  messages_.erase(it);
  if (code) {
    std::string line = failure_log_.record(reason.empty() ? code.message() : reason, now);
    if (!line.empty()) log(action::Log::warn, "amqp: " + line);
  }
  emit(std::move(complete));
}

}  // namespace herald::detail
