#include "drivers/amqp/receiver_set.hpp"

#include <spdlog/logger.h>
#include <proton/binary.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver_options.hpp>
#include <proton/session.hpp>
#include <proton/types.hpp>

#include <algorithm>
#include <set>

namespace herald::detail {

ReceiverSet::ReceiverSet(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger, Scheduler schedule)
    : options_(options), logger_(std::move(logger)), schedule_(std::move(schedule)) {}

void ReceiverSet::add(const std::shared_ptr<ListenerCore>& core, proton::connection* connection) {
  for (const std::string& queue : core->queues()) {
    std::uint64_t id = next_link_++;
    Link& link = links_[id];
    link.id = id;
    link.core = core;
    link.queue = queue;
    if (connection) attach(link, *connection);
  }
}

void ReceiverSet::attach(Link& link, proton::connection& connection) {
  // One session per link: RabbitMQ ends the session on errors such as a missing queue.
  proton::session session = connection.open_session();
  link_by_name_.erase(link.link_name);
  link.link_name = "herald-recv-" + std::to_string(link.id) + "-" + std::to_string(next_delivery_);
  link_by_name_[link.link_name] = link.id;
  proton::receiver_options link_options;
  link_options.name(link.link_name);
  link_options.auto_accept(false);
  link_options.credit_window(0);  // manual: credit comes back only as deliveries are settled
  link_options.delivery_mode(proton::delivery_mode::AT_LEAST_ONCE);
  link.receiver = session.open_receiver("/amq/queue/" + link.queue, link_options);
  link.attaching = true;
  link.attached = false;
  link.pending_credit = 0;
}

ReceiverSet::Link* ReceiverSet::find(const proton::receiver& receiver) {
  auto it = link_by_name_.find(receiver.name());
  if (it == link_by_name_.end()) return nullptr;
  auto link = links_.find(it->second);
  return link == links_.end() ? nullptr : &link->second;
}

bool ReceiverSet::on_receiver_open(proton::receiver& receiver) {
  Link* link = find(receiver);
  if (!link) return false;
  link->attaching = false;
  link->attached = true;
  link->retry_at = {};
  if (link->closing) {
    if (!link->detaching) begin_detach(*link);
    return true;
  }
  link->receiver.add_credit(static_cast<std::uint32_t>(link->core->credit_window()));
  logger_->debug("amqp: consuming queue '{}'", link->queue);
  link->core->link_attached();
  return true;
}

bool ReceiverSet::on_message(proton::delivery& delivery, proton::message& message) {
  Link* link = find(delivery.receiver());
  if (!link) return false;
  if (link->closing) {
    delivery.release();
    return true;
  }
  ReadyDelivery ready;
  const proton::value& body = message.body();
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    ready.body.assign(bytes.begin(), bytes.end());
  } else if (body.type() == proton::STRING) {
    ready.body = proton::get<std::string>(body);
  } else {
    // Not something oslo or Herald sends; dead-letter it rather than loop on it.
    logger_->error("amqp: queue '{}': rejecting a message whose body is AMQP type {}", link->queue,
                   proton::type_name(body.type()));
    delivery.reject();
    ++link->pending_credit;
    return true;
  }
  ready.link_id = link->id;
  ready.delivery_id = next_delivery_++;
  ready.redelivered = !message.first_acquirer() || message.delivery_count() > 0;
  ready.queue = link->queue;
  std::uint64_t delivery_id = ready.delivery_id;
  link->unsettled.emplace(delivery_id, delivery);
  if (!link->core->push(std::move(ready))) settle(link->id, delivery_id, Outcome::requeue);
  return true;
}

void ReceiverSet::settle(std::uint64_t link_id, std::uint64_t delivery_id, Outcome outcome) {
  auto found = links_.find(link_id);
  if (found == links_.end()) return;
  Link& link = found->second;
  auto it = link.unsettled.find(delivery_id);
  if (it == link.unsettled.end()) return;  // from before a reconnect: the broker requeued it
  switch (outcome) {
    case Outcome::ack:
      it->second.accept();
      break;
    case Outcome::requeue:
      it->second.release();
      break;  // never modify(): it crashes RabbitMQ 3.10 sessions
    case Outcome::reject:
      it->second.reject();
      break;
  }
  link.unsettled.erase(it);
  if (link.closing) {
    if (link.unsettled.empty() && !link.detaching) begin_detach(link);
    return;
  }
  ++link.pending_credit;
  std::uint32_t batch = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(link.core->credit_window() / 10));
  if (link.attached && link.pending_credit >= batch) {
    link.receiver.add_credit(link.pending_credit);
    link.pending_credit = 0;
  }
}

void ReceiverSet::stop(const std::shared_ptr<ListenerCore>& core, const std::vector<ReadyDelivery>& unpolled) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, link] : links_)
    if (link.core == core) {
      link.closing = true;
      ids.push_back(id);
    }
  for (const ReadyDelivery& delivery : unpolled) settle(delivery.link_id, delivery.delivery_id, Outcome::requeue);
  for (std::uint64_t id : ids) {
    auto it = links_.find(id);
    if (it == links_.end()) continue;
    Link& link = it->second;
    if (!link.attached && !link.attaching)
      finish(id);
    else if (link.unsettled.empty() && !link.detaching)
      begin_detach(link);
  }
  notify_if_core_detached(core);
}

void ReceiverSet::begin_detach(Link& link) {
  link.detaching = true;
  link.receiver.close();
  // RabbitMQ 3.10 answers a detach on an idle queue only after 30 s: do not wait that long.
  std::uint64_t id = link.id;
  schedule_(options_.detach_timeout, [this, id] {
    auto it = links_.find(id);
    if (it == links_.end() || !it->second.detaching) return;
    logger_->debug("amqp: queue '{}': no detach reply within detach_timeout, closing anyway", it->second.queue);
    finish(id);
  });
}

void ReceiverSet::finish(std::uint64_t link_id) {
  auto it = links_.find(link_id);
  if (it == links_.end()) return;
  Link& link = it->second;
  if (link.attached || link.attaching || link.detaching) {
    try {
      link.receiver.session().close();
    } catch (const std::exception&) {
      // the connection is already gone
    }
  }
  link_by_name_.erase(link.link_name);
  std::shared_ptr<ListenerCore> core = std::move(link.core);
  links_.erase(it);
  notify_if_core_detached(core);
}

void ReceiverSet::notify_if_core_detached(const std::shared_ptr<ListenerCore>& core) {
  if (!core) return;
  for (const auto& [id, link] : links_)
    if (link.core == core) return;
  core->set_detached();
}

bool ReceiverSet::on_receiver_gone(proton::receiver& receiver, const std::string& error) {
  Link* link = find(receiver);
  if (!link) return false;
  if (link->closing || link->detaching) {
    finish(link->id);
    return true;
  }
  bool was_attached = link->attached;
  logger_->error("amqp: consumer of queue '{}' {}: {}", link->queue, was_attached ? "lost" : "could not attach",
                 error.empty() ? "detached by the broker" : error);
  if (!was_attached) link->core->fail(Errc::transport_error, "queue '" + link->queue + "': " + error);
  try {
    link->receiver.session().close();  // unsettled deliveries of this link go back to the queue
  } catch (const std::exception&) {
  }
  link->attached = link->attaching = false;
  link->unsettled.clear();
  link->core->drop_ready();
  link->retry_at = std::chrono::steady_clock::now() + options_.reconnect_max_delay;
  return true;
}

void ReceiverSet::on_connected(proton::connection& connection) {
  std::vector<std::uint64_t> closed;
  for (auto& [id, link] : links_) {
    if (link.closing)
      closed.push_back(id);
    else
      attach(link, connection);
  }
  for (std::uint64_t id : closed) finish(id);
}

void ReceiverSet::retry_failed(proton::connection& connection, std::chrono::steady_clock::time_point now) {
  for (auto& [id, link] : links_)
    if (!link.attached && !link.attaching && !link.closing &&
        link.retry_at != std::chrono::steady_clock::time_point{} && link.retry_at <= now) {
      logger_->info("amqp: retrying the consumer of queue '{}'", link.queue);
      attach(link, connection);
    }
}

void ReceiverSet::on_disconnected() {
  std::vector<std::uint64_t> closed;
  std::set<ListenerCore*> cores;
  for (auto& [id, link] : links_) {
    link.receiver = proton::receiver();
    link.attached = link.attaching = false;
    link.unsettled.clear();  // the broker requeues whatever was unsettled
    link.pending_credit = 0;
    if (link.closing) closed.push_back(id);
    if (cores.insert(link.core.get()).second) link.core->drop_ready();
  }
  for (std::uint64_t id : closed) {
    links_[id].detaching = false;
    finish(id);
  }
}

void ReceiverSet::stop_all() {
  std::vector<std::shared_ptr<ListenerCore>> cores;
  for (const auto& [id, link] : links_)
    if (std::find(cores.begin(), cores.end(), link.core) == cores.end()) cores.push_back(link.core);
  for (const auto& core : cores) stop(core, core->stop());
}

void ReceiverSet::fail_all(Errc code, const std::string& reason) {
  for (auto& [id, link] : links_) link.core->fail(code, reason);
}

bool ReceiverSet::all_detached() const { return links_.empty(); }

}  // namespace herald::detail
