#pragma once
// The Proton adapter of the amqp driver: one proton::container on a thread this object owns.
// Every decision (connect, reconnect, declare, attach, transfer, resend, credit, settle, detach)
// is LinkMachine's; this class turns Proton events into LinkMachine events and executes the
// actions it emits. Caller threads reach the I/O thread only through the IoMailbox (sends and
// settlements, batched) and proton::work_queue.

#include "transports/amqp/amqp_management.hpp"
#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/background_worker.hpp"
#include "transports/amqp/delivery_buffer.hpp"
#include "transports/amqp/io_mailbox.hpp"
#include "transports/amqp/link_machine.hpp"
#include "transports/amqp/send_window.hpp"
#include "transports/amqp/topology.hpp"

#include <proton/connection.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/session.hpp>
#include <proton/ssl.hpp>
#include <proton/work_queue.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace herald::detail {

/// **Thread safety:** public members are thread-safe; the messaging_handler callbacks and
/// everything private run on the I/O thread only.
class AmqpConnection final : private proton::messaging_handler {
 public:
  /// Starts the I/O thread and the first connection attempt (does not wait for it).
  /// `management`: AMQP management requests of the topology (RabbitMQ 4) travel on this
  /// connection; it also learns the broker's kind here.
  AmqpConnection(AmqpOptions options, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<Topology> topology,
                 std::shared_ptr<ManagementChannel> management,
                 std::function<void(const TransportStatus&)> on_status_change);
  /// Waits up to send_timeout for what waits to be confirmed, then fails the rest, detaches
  /// links (detach_timeout) and closes.
  ~AmqpConnection() override;
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  /// Hands a send to the I/O thread. Blocks only while the send window is full (overflow=block,
  /// up to send_timeout); `done` runs exactly once.
  void send(std::string address, OutgoingMessage message, SendCallback done);
  /// Attaches receivers for every queue; waits up to connect_timeout. @throws TransportError.
  std::shared_ptr<DeliveryBuffer> listen(std::vector<QueueBinding> bindings, std::size_t credit_window);
  /// Releases unpolled deliveries and detaches the listener's links (waits up to detach_timeout).
  /// Returns how many prefetched, never polled deliveries went back to their queue.
  std::size_t stop_listener(const std::shared_ptr<DeliveryBuffer>& buffer);
  /// Asks for no more deliveries for `buffer` (what is granted may still arrive). Never blocks.
  void pause_listener(const std::shared_ptr<DeliveryBuffer>& buffer);
  const std::shared_ptr<IoMailbox>& mailbox() const noexcept { return mailbox_; }
  TransportStatus status() const;
  /// The broker's product and version from its open frame ("" before the first connection).
  std::string broker() const;
  /// True on the I/O thread (where send callbacks run); the connection must not be destroyed there.
  bool on_io_thread() const noexcept { return std::this_thread::get_id() == io_thread_id_; }

 private:
  struct ConsumerEntry {
    std::shared_ptr<DeliveryBuffer> buffer;
    std::string queue;
  };
  struct HeldDelivery {
    LinkId link = 0;
    proton::delivery delivery;
  };

  // I/O thread.
  void execute();
  // Wakes the polls of the buffers that received deliveries since the last call.
  void wake_takers();
  void run(action::Connect& a);
  /// Proton's TLS client options from ssl_ca_file, ssl_cert_file/ssl_key_file and ssl_verify.
  proton::ssl_client_options tls_options() const;
  void run(action::CloseConnection& a);
  void run(action::AttachSender& a);
  void run(action::AttachReceiver& a);
  void run(action::Detach& a);
  void run(action::Transfer& a);
  void run(action::Declare& a);
  void run(action::DeclareConsumer& a);
  void run(action::Grant& a);
  void run(action::Settle& a);
  void run(action::Complete& a);
  void run(action::ConsumerAttached& a);
  void run(action::ConsumerFailed& a);
  void run(action::ConsumerLinkLost& a);
  void run(action::ConsumerDetached& a);
  void run(action::StatusChanged& a);
  void run(action::Log& a);
  void drain();
  void tick();
  void force_detach(const std::vector<ConsumerId>& mine);
  // The consumers (one per queue) feeding `buffer` (I/O thread).
  std::vector<ConsumerId> consumers_of(const std::shared_ptr<DeliveryBuffer>& buffer) const;
  void begin_shutdown();
  bool post(std::function<void()> work);
  void wake_io();
  void link_closed(const proton::link& link, const proton::error_condition& error);
  void end_session(proton::session session);
  bool defer_attach(Action action);
  bool attaches_may_begin();
  void run_deferred_attaches();
  static LinkId link_id_of(const proton::link& link);
  // AMQP management link pair (RabbitMQ 4).
  static bool is_management(const proton::link& link);
  void open_management();
  void reopen_management();
  void pump_management();
  void management_lost(const std::string& why);
  std::string target_address(const std::string& v1_address) const;

  void on_container_start(proton::container& container) override;
  void on_connection_open(proton::connection& connection) override;
  void on_connection_error(proton::connection& connection) override;
  void on_transport_error(proton::transport& transport) override;
  void on_transport_close(proton::transport& transport) override;
  void on_session_error(proton::session& session) override;
  void on_session_close(proton::session& session) override;
  void on_sender_open(proton::sender& sender) override;
  void on_sendable(proton::sender& sender) override;
  void on_sender_error(proton::sender& sender) override;
  void on_sender_detach(proton::sender& sender) override;
  void on_sender_close(proton::sender& sender) override;
  void on_tracker_accept(proton::tracker& tracker) override;
  void on_tracker_reject(proton::tracker& tracker) override;
  void on_tracker_release(proton::tracker& tracker) override;
  void on_receiver_open(proton::receiver& receiver) override;
  void on_message(proton::delivery& delivery, proton::message& message) override;
  void on_connection_wake(proton::connection& connection) override;
  void on_receiver_error(proton::receiver& receiver) override;
  void on_receiver_detach(proton::receiver& receiver) override;
  void on_receiver_close(proton::receiver& receiver) override;
  void on_error(const proton::error_condition& condition) override;

  const AmqpOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<Topology> topology_;
  std::shared_ptr<ManagementChannel> management_;
  std::function<void(const TransportStatus&)> on_status_change_;
  SendWindow window_;
  std::unique_ptr<proton::container> container_;
  std::unique_ptr<proton::work_queue> work_queue_;
  std::shared_ptr<IoMailbox> mailbox_;
  BackgroundWorker declarer_;

  // I/O thread state: the machine decides, these maps hold the Proton objects it names.
  LinkMachine machine_;
  proton::connection connection_;
  bool connected_ = false;
  bool stopping_ = false;
  /// Consumers stopped and not detached yet, with the time tick() stops waiting for the reply.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::vector<ConsumerId>>> detach_deadlines_;
  std::size_t current_host_ = 0;
  bool ever_connected_ = false;
  bool auth_failed_ = false;    // set by the error callbacks before on_transport_close
  bool tls_failed_ = false;     // the TLS handshake of this attempt failed
  std::string last_error_;      // idem
  bool broker_closed_ = false;  // the broker sent a close frame (on_connection_error)
  std::unordered_map<LinkId, proton::sender> senders_;
  std::unordered_map<LinkId, proton::receiver> receivers_;
  std::unordered_map<std::uint64_t, HeldDelivery> deliveries_;
  std::map<ConsumerId, ConsumerEntry> consumers_;
  // Buffers that received deliveries since the last wake_takers(): their polls are woken once
  // Proton has handled everything one read brought (on_connection_wake), not per delivery.
  std::vector<std::shared_ptr<DeliveryBuffer>> unwoken_;
  ConsumerId next_consumer_ = 1;
  std::uint64_t next_delivery_ = 1;
  proton::message message_;  // reused for every transfer
  bool v2_ = false;          // RabbitMQ 4 or later on this connection: v2 addresses, modified outcome
  proton::sender management_sender_;
  proton::receiver management_receiver_;
  int management_open_ = 0;  // halves of the pair attached (2 = ready)
  std::uint64_t management_generation_ = 0;
  proton::message management_message_;
  int sessions_ending_ = 0;  // ended by us, the broker's end not yet received
  std::chrono::steady_clock::time_point sessions_ending_since_{};
  std::chrono::steady_clock::time_point session_ended_at_{};  // the last end reply (channel freed)
  std::vector<Action> deferred_attaches_;

  // Shared state.
  mutable std::mutex status_mutex_;
  TransportStatus status_{TransportState::connecting, "connecting"};
  std::string broker_;
  std::atomic<bool> io_running_{true};
  std::thread io_thread_;
  std::thread::id io_thread_id_;
};

}  // namespace herald::detail
