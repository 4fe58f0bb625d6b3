#pragma once
// Listener and IncomingMessage of the amqp driver: poll() drains the DeliveryBuffer's bounded
// queue; settlement goes back to the I/O thread through the IoMailbox.

#include "transports/amqp/delivery_buffer.hpp"
#include "transports/amqp/io_mailbox.hpp"
#include "transports/transport_driver.hpp"

#include <functional>
#include <memory>

namespace herald::detail {

class AmqpIncomingMessage final : public IncomingMessage {
 public:
  AmqpIncomingMessage(ReadyDelivery&& delivery, std::shared_ptr<IoMailbox> mailbox)
      : IncomingMessage(std::move(delivery.body), delivery.redelivered, std::move(delivery.queue),
                        delivery.delivery_count),
        mailbox_(std::move(mailbox)),
        link_id_(delivery.link_id),
        delivery_id_(delivery.delivery_id) {}
  ~AmqpIncomingMessage() override { settle_if_unsettled(); }

 protected:
  void do_settle(Outcome outcome) override {
    // When the transport is gone the broker requeues the delivery by itself.
    mailbox_->push_settle({link_id_, delivery_id_, outcome});
  }

 private:
  std::shared_ptr<IoMailbox> mailbox_;
  std::uint64_t link_id_;
  std::uint64_t delivery_id_;
};

class AmqpListener final : public Listener {
 public:
  /// What the listener asks of its connection (AmqpConnection::pause_listener and
  /// stop_listener: the latter releases unpolled deliveries and detaches).
  struct Links {
    std::function<void(const std::shared_ptr<DeliveryBuffer>&)> pause;
    std::function<std::size_t(const std::shared_ptr<DeliveryBuffer>&)> stop;
  };

  AmqpListener(std::shared_ptr<DeliveryBuffer> buffer, std::shared_ptr<IoMailbox> mailbox, Links links)
      : buffer_(std::move(buffer)), mailbox_(std::move(mailbox)), links_(std::move(links)) {}
  ~AmqpListener() override { stop(); }

  IncomingBatch poll(std::chrono::milliseconds timeout, std::size_t max_batch) override {
    IncomingBatch batch;
    for (ReadyDelivery& delivery : buffer_->take(timeout, max_batch))
      batch.push_back(std::make_unique<AmqpIncomingMessage>(std::move(delivery), mailbox_));
    return batch;
  }

  void pause() override {
    std::call_once(paused_, [&] { links_.pause(buffer_); });
  }

  std::size_t stop() override {
    std::size_t returned = 0;
    std::call_once(stopped_, [&] { returned = links_.stop(buffer_); });
    return returned;
  }

 private:
  std::shared_ptr<DeliveryBuffer> buffer_;
  std::shared_ptr<IoMailbox> mailbox_;
  Links links_;
  std::once_flag paused_;
  std::once_flag stopped_;
};

}  // namespace herald::detail
