#pragma once
// The I/O-thread side of every listener: receiver links on `/amq/queue/<queue>`, manual credit
// replenished as deliveries are settled, settlement, and detach-before-close on stop.

#include "drivers/amqp/amqp_options.hpp"
#include "drivers/amqp/listener_core.hpp"

#include <proton/connection.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/receiver.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace herald::detail {

/// **Thread safety:** I/O thread only.
class ReceiverSet {
 public:
  /// `schedule(delay, work)` runs work later on the I/O thread (detach timeouts).
  using Scheduler = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  ReceiverSet(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger, Scheduler schedule);

  void add(const std::shared_ptr<ListenerCore>& core, proton::connection* connection);
  /// Releases `unpolled`, then detaches the core's links once nothing polled is unsettled.
  void stop(const std::shared_ptr<ListenerCore>& core, const std::vector<ReadyDelivery>& unpolled);
  void settle(std::uint64_t link_id, std::uint64_t delivery_id, Outcome outcome);

  void on_connected(proton::connection& connection);
  void on_disconnected();
  /// Reattaches links that failed (e.g. a queue missing after a broker restart) once their
  /// retry time has come.
  void retry_failed(proton::connection& connection, std::chrono::steady_clock::time_point now);

  bool on_receiver_open(proton::receiver& receiver);
  bool on_message(proton::delivery& delivery, proton::message& message);
  /// The broker detached or closed the link (a reply to ours, or its own error).
  bool on_receiver_gone(proton::receiver& receiver, const std::string& error);

  /// Reports a fatal connection error to every listener waiting in listen().
  void fail_all(Errc code, const std::string& reason);
  /// Stops every listener and detaches all links (driver shutdown).
  void stop_all();
  bool all_detached() const;

 private:
  struct Link {
    std::uint64_t id = 0;
    std::shared_ptr<ListenerCore> core;
    std::string queue;
    proton::receiver receiver;
    std::string link_name;
    bool attaching = false;
    bool attached = false;
    bool closing = false;  // stop requested: no more credit, detach when nothing is unsettled
    bool detaching = false;
    std::chrono::steady_clock::time_point retry_at{};
    std::uint32_t pending_credit = 0;  // settled since the last credit grant
    std::unordered_map<std::uint64_t, proton::delivery> unsettled;
  };

  void attach(Link& link, proton::connection& connection);
  void begin_detach(Link& link);
  void finish(std::uint64_t link_id);
  Link* find(const proton::receiver& receiver);
  void notify_if_core_detached(const std::shared_ptr<ListenerCore>& core);

  const AmqpOptions& options_;
  std::shared_ptr<spdlog::logger> logger_;
  Scheduler schedule_;
  std::map<std::uint64_t, Link> links_;
  std::unordered_map<std::string, std::uint64_t> link_by_name_;
  std::uint64_t next_link_ = 1;
  std::uint64_t next_delivery_ = 1;
};

}  // namespace herald::detail
