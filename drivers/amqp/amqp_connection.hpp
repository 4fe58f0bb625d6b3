#pragma once
// One AMQP 1.0 connection per transport: a proton::container running on a thread this object
// owns, with failover across the URL's hosts, reconnect with backoff, and the send and listen
// paths on top. Every cross-thread call goes through proton::work_queue (via Bridge).

#include "drivers/amqp/amqp_options.hpp"
#include "drivers/amqp/bridge.hpp"
#include "drivers/amqp/listener_core.hpp"
#include "drivers/amqp/receiver_set.hpp"
#include "drivers/amqp/send_pipeline.hpp"
#include "drivers/amqp/topology.hpp"

#include <proton/connection.hpp>
#include <proton/container.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/work_queue.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace herald::detail {

/// **Thread safety:** public members are thread-safe; the messaging_handler callbacks run on
/// the I/O thread only.
class AmqpConnection final : private proton::messaging_handler {
 public:
  /// Starts the I/O thread and the first connection attempt (does not wait for it).
  AmqpConnection(AmqpOptions options, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<Topology> topology);
  /// Waits up to send_timeout for unconfirmed sends, detaches links (detach_timeout), closes.
  ~AmqpConnection() override;
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  /// Blocks while the in-flight window is full (up to send_timeout).
  void send(std::string address, OutgoingMessage message, SendCallback done);
  /// Attaches receivers for every queue; waits up to connect_timeout. @throws TransportError.
  std::shared_ptr<ListenerCore> listen(std::vector<QueueBinding> bindings, std::size_t credit_window);
  /// Releases unpolled deliveries and detaches the listener's links (waits up to detach_timeout).
  void stop_listener(const std::shared_ptr<ListenerCore>& core);
  const std::shared_ptr<Bridge>& bridge() const noexcept { return bridge_; }
  /// True on the I/O thread (where send callbacks run); the connection must not be destroyed there.
  bool on_io_thread() const noexcept { return std::this_thread::get_id() == io_thread_id_; }

 private:
  // I/O thread.
  void connect();
  void schedule_reconnect(const std::string& reason);
  void attach_links();
  void drain();
  void tick();
  void begin_shutdown();
  void fail_fatal(Errc code, const std::string& reason);
  bool post(std::function<void()> work);
  void flush_io();
  std::string current_host() const;

  void on_container_start(proton::container& container) override;
  void on_connection_open(proton::connection& connection) override;
  void on_connection_error(proton::connection& connection) override;
  void on_transport_error(proton::transport& transport) override;
  void on_transport_close(proton::transport& transport) override;
  void on_session_error(proton::session& session) override;
  void on_sender_open(proton::sender& sender) override;
  void on_sendable(proton::sender& sender) override;
  void on_sender_error(proton::sender& sender) override;
  void on_sender_close(proton::sender& sender) override;
  void on_tracker_accept(proton::tracker& tracker) override;
  void on_tracker_reject(proton::tracker& tracker) override;
  void on_tracker_release(proton::tracker& tracker) override;
  void on_receiver_open(proton::receiver& receiver) override;
  void on_message(proton::delivery& delivery, proton::message& message) override;
  void on_receiver_detach(proton::receiver& receiver) override;
  void on_receiver_close(proton::receiver& receiver) override;
  void on_receiver_error(proton::receiver& receiver) override;
  void on_error(const proton::error_condition& condition) override;

  const AmqpOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<Topology> topology_;
  SendWindow window_;
  std::unique_ptr<proton::container> container_;
  std::unique_ptr<proton::work_queue> work_queue_;
  std::shared_ptr<Bridge> bridge_;
  std::unique_ptr<SendPipeline> send_;
  std::unique_ptr<ReceiverSet> receivers_;

  // I/O thread state.
  proton::connection connection_;
  bool links_allowed_ = false;  // connected, and the topology redeclared after a reconnect
  bool stopping_ = false;
  bool ever_connected_ = false;
  std::size_t host_index_ = 0;
  std::size_t failed_attempts_ = 0;
  std::uint64_t generation_ = 0;
  std::thread topology_thread_;

  // Shared state.
  std::atomic<bool> connected_{false};
  mutable std::mutex state_mutex_;
  Errc fatal_code_ = Errc::ok;
  std::string fatal_reason_;
  std::thread io_thread_;
  std::thread::id io_thread_id_;
};

}  // namespace herald::detail
