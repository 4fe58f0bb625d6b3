#include "drivers/amqp/send_pipeline.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>
#include <proton/binary.hpp>
#include <proton/message_id.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/target_options.hpp>

#include <algorithm>
#include <cstring>

namespace herald::detail {

bool SendWindow::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [&] { return used_ < limit_; })) return false;
  ++used_;
  return true;
}

bool SendWindow::try_acquire() {
  std::lock_guard lock(mutex_);
  if (used_ >= limit_) return false;
  ++used_;
  return true;
}

void SendWindow::release() {
  {
    std::lock_guard lock(mutex_);
    if (used_ > 0) --used_;
  }
  changed_.notify_all();
}

bool SendWindow::wait_empty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline, [&] { return used_ == 0; });
}

SendPipeline::SendPipeline(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger, SendWindow& window)
    : options_(options), logger_(std::move(logger)), window_(window) {
  message_.content_type("application/json");
  message_.content_encoding("utf-8");
  message_.durable(options_.durable_messages);
}

void SendPipeline::enqueue(SendRequest request, proton::connection* connection) {
  std::uint64_t id = next_id_++;
  AddressState& state = addresses_[request.address];
  entries_.emplace(id, Entry{request.address, std::move(request.message), std::move(request.done), request.deadline});
  state.backlog.push_back(id);
  if (state.attached) {
    flush(state);
  } else if (!state.attaching && connection) {
    attach(entries_.at(id).address, state, *connection);
  }
}

void SendPipeline::attach(const std::string& address, AddressState& state, proton::connection& connection) {
  // One session per link: RabbitMQ reports a bad address by ending the whole session.
  proton::session session = connection.open_session();
  state.link_name = "herald-send-" + std::to_string(next_link_++);
  proton::sender_options link_options;
  link_options.name(state.link_name);
  link_options.delivery_mode(options_.delivery == DeliveryGuarantee::at_least_once
                                 ? proton::delivery_mode::AT_LEAST_ONCE
                                 : proton::delivery_mode::AT_MOST_ONCE);
  link_options.auto_settle(true);
  state.sender = session.open_sender(address, link_options);
  state.attaching = true;
  address_of_link_[state.link_name] = address;
}

SendPipeline::AddressState* SendPipeline::find_link(const proton::sender& sender) {
  auto it = address_of_link_.find(sender.name());
  if (it == address_of_link_.end()) return nullptr;
  auto state = addresses_.find(it->second);
  if (state == addresses_.end() || state->second.link_name != sender.name()) return nullptr;
  return &state->second;
}

bool SendPipeline::on_sender_open(proton::sender& sender) {
  AddressState* state = find_link(sender);
  if (!state) return false;
  state->attaching = false;
  state->attached = true;
  flush(*state);
  return true;
}

bool SendPipeline::on_sendable(proton::sender& sender) {
  AddressState* state = find_link(sender);
  if (!state) return false;
  flush(*state);
  return true;
}

void SendPipeline::flush(AddressState& state) {
  if (!state.attached) return;
  const bool presettled = options_.delivery == DeliveryGuarantee::at_most_once;
  while (!state.backlog.empty() && state.sender.credit() > 0) {
    std::uint64_t id = state.backlog.front();
    state.backlog.pop_front();
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;  // expired while waiting
    Entry& entry = it->second;
    message_.body(proton::binary(entry.message.body));
    message_.inferred(true);  // one data section, which kombu/oslo read as raw bytes
    message_.id(proton::message_id(entry.message.message_id));
    proton::binary tag(sizeof id, 0);
    std::memcpy(tag.data(), &id, sizeof id);
    state.sender.send(message_, tag);
    if (presettled)
      complete(id, {});
    else
      entry.on_wire = true;
  }
}

bool SendPipeline::on_sender_failed(proton::sender& sender, const std::string& reason) {
  AddressState* state = find_link(sender);
  if (!state) return false;
  auto address = address_of_link_[sender.name()];
  address_of_link_.erase(sender.name());
  logger_->error("amqp: sender link to '{}' failed: {}", address, reason);
  // Messages on this address can never be confirmed by this link; fail them with the reason.
  std::vector<std::uint64_t> failed(state->backlog.begin(), state->backlog.end());
  for (const auto& [id, entry] : entries_)
    if (entry.on_wire && entry.address == address) failed.push_back(id);
  addresses_.erase(address);
  for (std::uint64_t id : failed) complete(id, make_error_code(Errc::transport_error));
  return true;
}

std::uint64_t SendPipeline::id_of(const proton::tracker& tracker) {
  proton::binary tag = tracker.tag();
  std::uint64_t id = 0;
  if (tag.size() == sizeof id) std::memcpy(&id, tag.data(), sizeof id);
  return id;
}

void SendPipeline::on_tracker_accept(proton::tracker& tracker) { complete(id_of(tracker), {}); }

void SendPipeline::on_tracker_reject(proton::tracker& tracker) {
  // RabbitMQ 3.10 never rejects a publish, but other brokers might.
  complete(id_of(tracker), make_error_code(Errc::transport_error));
}

void SendPipeline::on_tracker_release(proton::tracker& tracker) {
  auto it = entries_.find(id_of(tracker));
  if (it == entries_.end()) return;
  it->second.on_wire = false;
  auto state = addresses_.find(it->second.address);
  if (state != addresses_.end()) {
    state->second.backlog.push_front(it->first);
    flush(state->second);
  }
}

void SendPipeline::complete(std::uint64_t id, std::error_code code) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  SendCallback done = std::move(it->second.done);
  entries_.erase(it);
  window_.release();
  if (done) done(code, {});
}

void SendPipeline::on_connected(proton::connection& connection) {
  for (auto& [address, state] : addresses_)
    if (!state.backlog.empty() && !state.attaching && !state.attached) attach(address, state, connection);
}

void SendPipeline::on_disconnected() {
  std::vector<std::uint64_t> resend;
  std::vector<std::uint64_t> exhausted;
  for (auto& [id, entry] : entries_) {
    if (!entry.on_wire) continue;
    entry.on_wire = false;
    // oslo's retry: -1 keeps trying, N allows N resends.
    if (entry.message.retry >= 0 && entry.resends >= entry.message.retry) {
      exhausted.push_back(id);
    } else {
      ++entry.resends;
      resend.push_back(id);
    }
  }
  std::sort(resend.begin(), resend.end(), std::greater<>());
  for (auto& [address, state] : addresses_) {
    state.sender = proton::sender();
    state.attaching = state.attached = false;
  }
  for (std::uint64_t id : resend) addresses_[entries_.at(id).address].backlog.push_front(id);
  address_of_link_.clear();
  if (!resend.empty())
    logger_->info("amqp: {} unconfirmed message(s) will be resent after reconnecting", resend.size());
  for (std::uint64_t id : exhausted) complete(id, make_error_code(Errc::transport_error));
}

void SendPipeline::expire(std::chrono::steady_clock::time_point now, bool connected) {
  std::vector<std::uint64_t> expired;
  for (const auto& [id, entry] : entries_)
    if (entry.deadline <= now) expired.push_back(id);
  if (expired.empty()) return;
  std::sort(expired.begin(), expired.end());
  logger_->warn("amqp: {} message(s) not confirmed within send_timeout ({})", expired.size(),
                connected ? "broker did not confirm" : "no broker reachable");
  for (std::uint64_t id : expired) complete(id, make_error_code(connected ? Errc::timeout : Errc::unreachable));
}

void SendPipeline::fail_all(std::error_code code, const std::string& reason) {
  if (entries_.empty()) return;
  logger_->warn("amqp: failing {} unconfirmed message(s): {}", entries_.size(), reason);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, entry] : entries_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (std::uint64_t id : ids) complete(id, code);
}

void SendPipeline::close_links() {
  for (auto& [address, state] : addresses_)
    if (state.attached || state.attaching) {
      state.sender.close();
      state.attached = state.attaching = false;
    }
}

}  // namespace herald::detail
