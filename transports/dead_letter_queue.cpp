// DeadLetterQueue: inspect through the transport's DeadLetterBackend (a read that leaves the
// queue as it was), replay through the ordinary driver listen() and send(), purge through the
// backend. docs/operations.md "Dead letters" explains the choices.

#include "transports/dead_letter_backend.hpp"
#include "transports/transport_driver.hpp"

#include <herald/codec.hpp>
#include <herald/dead_letters.hpp>
#include <herald/error.hpp>
#include <herald/transport.hpp>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

namespace herald {
namespace {

void decode_into(DeadLetter& letter) {
  try {
    letter.notification = decode(letter.body);
    if (letter.message_id.empty()) letter.message_id = letter.notification->message_id;
  } catch (const Error& e) {
    letter.decode_error = e.what();
  }
}

// "<topic>.<priority>" with a known priority.
void check_routing_key(const std::string& to) {
  auto dot = to.rfind('.');
  if (dot == std::string::npos || dot == 0 || !parse_priority(std::string_view(to).substr(dot + 1)))
    throw ConfigError("replay: '" + to + "' is not <topic>.<priority> (e.g. notifications.info)");
}

// Send outcomes, reported from whatever thread the transport confirms on.
struct Confirmations {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<std::size_t, std::string>> done;  // (ticket, error text; empty = confirmed)
};

}  // namespace

DeadLetterQueue::DeadLetterQueue(std::shared_ptr<Transport> transport, DeadLetterOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {
  if (!transport_) throw ConfigError("dead letters: no transport");
  if (options_.max_messages == 0) throw ConfigError("dead letters: max_messages must be positive");
  std::string resolved;
  backend_ = detail::make_memory_dead_letters(*transport_, options_.queue, resolved);
  if (!backend_) backend_ = detail::make_rabbitmq_dead_letters(*transport_, options_.queue, options_.timeout, resolved);
  options_.queue = resolved;
}

DeadLetterQueue::~DeadLetterQueue() = default;

const std::string& DeadLetterQueue::name() const noexcept { return options_.queue; }

std::vector<DeadLetter> DeadLetterQueue::inspect(std::size_t max_count) {
  std::size_t max = max_count == 0 ? options_.max_messages : std::min(max_count, options_.max_messages);
  std::vector<DeadLetter> letters = backend_->browse(max);
  for (DeadLetter& letter : letters) decode_into(letter);
  return letters;
}

std::size_t DeadLetterQueue::depth() { return backend_->depth(); }

std::size_t DeadLetterQueue::purge() { return backend_->purge(); }

ReplayReport DeadLetterQueue::replay(const ReplayOptions& options) {
  if (!options.to.empty()) check_routing_key(options.to);
  if (options.in_flight == 0) throw ConfigError("replay: in_flight must be positive");
  ReplayReport report;

  // What the queue holds now, with each message's origin (a consumer over AMQP 1.0 on
  // RabbitMQ 3.10 sees neither x-death nor the routing key). Bodies identify the deliveries
  // that follow; identical bodies are interchangeable.
  std::vector<DeadLetter> snapshot = backend_->browse(options_.max_messages);
  if (snapshot.empty()) return report;
  std::unordered_multimap<std::string_view, std::size_t> by_body;
  for (const DeadLetter& letter : snapshot) by_body.emplace(letter.body, letter.position);

  detail::ListenSpec spec;
  spec.bindings.push_back({options_.queue, "", ""});  // consume only: never bound, never declared
  spec.credit_window = snapshot.size();
  std::unique_ptr<detail::Listener> listener = transport_->driver().listen(spec);

  const std::string& control_exchange = transport_->options().control_exchange;
  auto confirmations = std::make_shared<Confirmations>();
  std::map<std::size_t, std::unique_ptr<detail::IncomingMessage>> in_flight;
  std::vector<std::unique_ptr<detail::IncomingMessage>> held;  // go back when replay ends
  std::size_t next_ticket = 0;
  bool stop = false;

  auto settle_confirmed = [&](bool wait, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(confirmations->mutex);
    if (wait) confirmations->changed.wait_until(lock, deadline, [&] { return !confirmations->done.empty(); });
    auto done = std::move(confirmations->done);
    confirmations->done.clear();
    lock.unlock();
    for (auto& [ticket, error] : done) {
      auto it = in_flight.find(ticket);
      if (it == in_flight.end()) continue;
      if (error.empty()) {
        it->second->ack();  // only now: the copy is safely queued
        ++report.replayed;
      } else {
        ++report.failed;
        if (report.error.empty()) report.error = error;
        held.push_back(std::move(it->second));
        stop = true;  // do not pile more messages onto a failing destination
      }
      in_flight.erase(it);
    }
  };

  auto last_delivery = std::chrono::steady_clock::now();
  while (!stop && report.examined < snapshot.size()) {
    if (options.max_count != 0 && report.replayed + in_flight.size() >= options.max_count) break;
    settle_confirmed(false, {});
    if (in_flight.size() >= options.in_flight) {
      settle_confirmed(true, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
      continue;
    }
    std::size_t room = options.in_flight - in_flight.size();
    if (options.max_count != 0) room = std::min(room, options.max_count - report.replayed - in_flight.size());
    room = std::min(room, snapshot.size() - report.examined);
    detail::IncomingBatch batch = listener->poll(std::chrono::milliseconds(100), room);
    auto now = std::chrono::steady_clock::now();
    if (batch.empty()) {
      if (now - last_delivery >= options.idle_timeout) break;
      continue;
    }
    last_delivery = now;
    for (auto& message : batch) {
      ++report.examined;
      DeadLetter origin;
      if (auto found = by_body.find(message->body()); found != by_body.end()) {
        origin = snapshot[found->second];
        by_body.erase(found);
      } else {
        origin.body = message->body();  // arrived after the snapshot: origin unknown
      }
      decode_into(origin);
      if (!origin.notification) {
        ++report.undecodable;
        held.push_back(std::move(message));
        continue;
      }
      if (!options.filter.matches(*origin.notification)) {
        ++report.not_matched;
        held.push_back(std::move(message));
        continue;
      }
      detail::OutgoingMessage copy;
      if (!options.to.empty()) {
        copy.exchange = options.exchange.empty() ? control_exchange : options.exchange;
        copy.routing_key = options.to;
      } else if (!origin.routing_key.empty()) {
        copy.exchange = !origin.exchange.empty()    ? origin.exchange
                        : !options.exchange.empty() ? options.exchange
                                                    : control_exchange;
        copy.routing_key = origin.routing_key;
      } else {
        ++report.unknown_origin;
        held.push_back(std::move(message));
        continue;
      }
      copy.body = message->body();  // byte for byte: _unique_id and message_id unchanged
      copy.message_id = origin.message_id;
      copy.retry = -1;
      std::size_t ticket = next_ticket++;
      in_flight.emplace(ticket, std::move(message));
      transport_->driver().send(std::move(copy), [confirmations, ticket](std::error_code ec, std::string_view reason) {
        std::string error;
        if (ec) error = reason.empty() ? ec.message() : ec.message() + ": " + std::string(reason);
        {
          std::lock_guard lock(confirmations->mutex);
          confirmations->done.emplace_back(ticket, std::move(error));
        }
        confirmations->changed.notify_all();
      });
    }
  }

  // Wait for the copies still unconfirmed; what stays unconfirmed goes back unacked (the
  // copy may still arrive: at least once, never at most once).
  auto deadline = std::chrono::steady_clock::now() + options.confirm_timeout;
  while (!in_flight.empty() && std::chrono::steady_clock::now() < deadline) settle_confirmed(true, deadline);
  for (auto& [ticket, message] : in_flight) {
    ++report.failed;
    if (report.error.empty()) report.error = "not confirmed within the confirm timeout";
    held.push_back(std::move(message));
  }
  in_flight.clear();
  // Back into the queue before the link goes: the broker (and memory://) restores each one's
  // old position, so the order of what remains is unchanged.
  for (auto& message : held) message->requeue();
  held.clear();
  listener->stop();
  return report;
}

}  // namespace herald

#ifndef HERALD_HAVE_AMQP
namespace herald::detail {
std::unique_ptr<DeadLetterBackend> make_rabbitmq_dead_letters(Transport& transport, const std::string&,
                                                              std::chrono::milliseconds, std::string&) {
  throw ConfigError("dead letters: scheme '" + transport.url().scheme() +
                    "' needs Herald built with HERALD_BUILD_AMQP=ON");
}
}  // namespace herald::detail
#endif
