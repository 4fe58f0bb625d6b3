#pragma once
// Listener and IncomingMessage of the amqp driver: poll() drains the ListenerCore's bounded
// queue; settlement goes back to the I/O thread through the Bridge.

#include "drivers/amqp/bridge.hpp"
#include "drivers/amqp/listener_core.hpp"
#include "drivers/driver.hpp"

#include <functional>
#include <memory>

namespace herald::detail {

class AmqpIncomingMessage final : public IncomingMessage {
 public:
  AmqpIncomingMessage(ReadyDelivery&& delivery, std::shared_ptr<Bridge> bridge)
      : IncomingMessage(std::move(delivery.body), delivery.redelivered, std::move(delivery.queue),
                        delivery.delivery_count),
        bridge_(std::move(bridge)),
        link_id_(delivery.link_id),
        delivery_id_(delivery.delivery_id) {}
  ~AmqpIncomingMessage() override { settle_if_unsettled(); }

 protected:
  void do_settle(Outcome outcome) override {
    // When the transport is gone the broker requeues the delivery by itself.
    bridge_->push_settle({link_id_, delivery_id_, outcome});
  }

 private:
  std::shared_ptr<Bridge> bridge_;
  std::uint64_t link_id_;
  std::uint64_t delivery_id_;
};

class AmqpListener final : public Listener {
 public:
  /// `stop_links` releases unpolled deliveries and detaches (AmqpConnection::stop_listener).
  AmqpListener(std::shared_ptr<ListenerCore> core, std::shared_ptr<Bridge> bridge,
               std::function<void(const std::shared_ptr<ListenerCore>&)> stop_links)
      : core_(std::move(core)), bridge_(std::move(bridge)), stop_links_(std::move(stop_links)) {}
  ~AmqpListener() override { stop(); }

  IncomingBatch poll(std::chrono::milliseconds timeout, std::size_t max_batch) override {
    IncomingBatch batch;
    for (ReadyDelivery& delivery : core_->take(timeout, max_batch))
      batch.push_back(std::make_unique<AmqpIncomingMessage>(std::move(delivery), bridge_));
    return batch;
  }

  void stop() override {
    std::call_once(stopped_, [this] { stop_links_(core_); });
  }

 private:
  std::shared_ptr<ListenerCore> core_;
  std::shared_ptr<Bridge> bridge_;
  std::function<void(const std::shared_ptr<ListenerCore>&)> stop_links_;
  std::once_flag stopped_;
};

}  // namespace herald::detail
