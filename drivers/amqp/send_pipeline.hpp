#pragma once
// The send path of the amqp driver: the caller-side in-flight window and the I/O-thread side
// (one cached sender link per address, unsettled tracking, resend after reconnect).

#include "drivers/amqp/amqp_options.hpp"
#include "drivers/driver.hpp"

#include <proton/connection.hpp>
#include <proton/message.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace herald::detail {

/// Counts sends that were accepted but not yet completed; bounds memory and gives the caller
/// back-pressure. **Thread safety:** thread-safe.
class SendWindow {
 public:
  explicit SendWindow(std::size_t limit) : limit_(limit) {}
  /// Takes one slot, waiting up to `timeout`. False on timeout.
  bool acquire(std::chrono::milliseconds timeout);
  /// Takes one slot only if free now.
  bool try_acquire();
  void release();
  /// Waits until every slot is free or `deadline` passes. True when empty.
  bool wait_empty(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t limit_;
  std::size_t used_ = 0;
};

/// A send handed to the I/O thread; its window slot is already taken.
struct SendRequest {
  std::string address;
  OutgoingMessage message;
  SendCallback done;
  std::chrono::steady_clock::time_point deadline;
};

/// I/O-thread state of all sender links. **Thread safety:** I/O thread only.
class SendPipeline {
 public:
  SendPipeline(const AmqpOptions& options, std::shared_ptr<spdlog::logger> logger, SendWindow& window);

  void enqueue(SendRequest request, proton::connection* connection);
  void on_connected(proton::connection& connection);
  /// The connection is gone: unconfirmed messages go back to their backlog (or fail once
  /// their `retry` budget is used up); links are forgotten.
  void on_disconnected();

  /// Link events; each returns false when the link is not one of ours.
  bool on_sender_open(proton::sender& sender);
  bool on_sendable(proton::sender& sender);
  bool on_sender_failed(proton::sender& sender, const std::string& reason);
  void on_tracker_accept(proton::tracker& tracker);
  void on_tracker_reject(proton::tracker& tracker);
  void on_tracker_release(proton::tracker& tracker);

  /// Fails sends whose deadline passed: Errc::unreachable while disconnected, else timeout.
  void expire(std::chrono::steady_clock::time_point now, bool connected);
  /// Fails every send (shutdown, fatal error).
  void fail_all(std::error_code code, const std::string& reason);
  void close_links();
  std::size_t unconfirmed() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::string address;
    OutgoingMessage message;
    SendCallback done;
    std::chrono::steady_clock::time_point deadline;
    int resends = 0;
    bool on_wire = false;
  };
  struct AddressState {
    proton::sender sender;
    std::string link_name;
    bool attaching = false;
    bool attached = false;
    std::deque<std::uint64_t> backlog;  // ids not on the wire, in send order
  };

  void attach(const std::string& address, AddressState& state, proton::connection& connection);
  void flush(AddressState& state);
  AddressState* find_link(const proton::sender& sender);
  void complete(std::uint64_t id, std::error_code code);
  static std::uint64_t id_of(const proton::tracker& tracker);

  const AmqpOptions& options_;
  std::shared_ptr<spdlog::logger> logger_;
  SendWindow& window_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::map<std::string, AddressState> addresses_;
  std::unordered_map<std::string, std::string> address_of_link_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_link_ = 1;
  proton::message message_;  // reused for every transfer
};

}  // namespace herald::detail
