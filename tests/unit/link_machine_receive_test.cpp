// LinkMachine, consumer side: credit bounded by the window, stop, re-attach.
#include "tests/unit/link_machine_support.hpp"

namespace herald::test {
namespace {

struct ConsumerHarness : MachineHarness {
  detail::LinkId attach(detail::ConsumerId id = 1, std::uint32_t window = 10) {
    machine.add_consumer(now, id, "n.info", window);
    take();
    auto a = first<action::AttachReceiver>();
    EXPECT_TRUE(a);
    if (!a) return 0;
    machine.on_receiver_opened(now, a->link);
    take();
    return a->link;
  }
  std::uint32_t granted() const {
    std::uint32_t n = 0;
    for (const auto& g : all<action::Grant>()) n += g.credit;
    return n;
  }
};

TEST(LinkMachineReceive, AttachGrantsTheWindowAndReportsAttached) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach(1, 10);
  EXPECT_TRUE(h.first<action::ConsumerAttached>());
  EXPECT_EQ(h.granted(), 10u);
  EXPECT_EQ(h.first<action::Grant>()->link, link);
}

TEST(LinkMachineReceive, NeverHoldsMoreThanTheWindowWhateverTheBrokerSends) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach(1, 10);
  for (std::uint64_t d = 1; d <= 10; ++d) EXPECT_TRUE(h.machine.on_delivery(h.now, link, d));
  h.take();
  // RabbitMQ 3.10 may deliver past the credit it was given: the excess goes back at once.
  EXPECT_FALSE(h.machine.on_delivery(h.now, link, 11));
  h.take();
  auto release = h.first<action::Settle>();
  ASSERT_TRUE(release);
  EXPECT_EQ(release->delivery, 11u);
  EXPECT_EQ(release->outcome, Outcome::requeue);
  EXPECT_EQ(h.machine.held(1), 10u);
}

TEST(LinkMachineReceive, CreditIsGrantedOnlyWhenThePreviousGrantIsUsedAndHalfTheWindowIsFree) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach(1, 10);
  for (std::uint64_t d = 1; d <= 6; ++d) h.machine.on_delivery(h.now, link, d);
  for (std::uint64_t d = 1; d <= 6; ++d) h.machine.settle(h.now, link, d, Outcome::ack);
  h.take();
  EXPECT_EQ(h.granted(), 0u) << "4 credits are still outstanding: no flow frame";
  for (std::uint64_t d = 7; d <= 16; ++d) h.machine.on_delivery(h.now, link, d);
  h.take();
  EXPECT_EQ(h.machine.held(1), 10u);
  for (std::uint64_t d = 7; d <= 10; ++d) h.machine.settle(h.now, link, d, Outcome::ack);
  h.take();
  EXPECT_EQ(h.granted(), 0u) << "4 of 10 free: wait for half the window";
  h.machine.settle(h.now, link, 11, Outcome::ack);
  h.take();
  EXPECT_EQ(h.granted(), 5u);
  // Held + credit never exceeds the window over a long run with random settlement.
  std::uint64_t next = 17;
  std::vector<std::uint64_t> held = {12, 13, 14, 15, 16};
  std::uint32_t credit = 5;
  for (int step = 0; step < 10'000; ++step) {
    if (credit > 0 && step % 3 != 0) {
      ASSERT_TRUE(h.machine.on_delivery(h.now, link, next));
      held.push_back(next++);
      --credit;
    } else if (!held.empty()) {
      h.machine.settle(h.now, link, held.front(), Outcome::ack);
      held.erase(held.begin());
    }
    h.take();
    credit += h.granted();
    ASSERT_LE(held.size() + credit, 10u) << step;
  }
}

TEST(LinkMachineReceive, SettlementOfALostLinkIsIgnored) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach();
  h.machine.on_delivery(h.now, link, 1);
  h.machine.on_disconnected(h.now, "reset", std::nullopt);
  h.take();
  EXPECT_TRUE(h.first<action::ConsumerLinkLost>());
  h.machine.settle(h.now, link, 1, Outcome::ack);
  h.take();
  EXPECT_FALSE(h.first<action::Settle>()) << "the broker requeued it already";
  h.advance(1ms);
  h.machine.on_connected(h.now);
  h.take();
  EXPECT_TRUE(h.first<action::AttachReceiver>());
}

TEST(LinkMachineReceive, DeletedQueueIsDeclaredAgainAndReattachedQuickly) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach();
  h.machine.on_link_closed(h.now, link, {"amqp:resource-deleted", "queue 'n.info' deleted"});
  h.take();
  EXPECT_TRUE(h.first<action::ConsumerLinkLost>());
  EXPECT_FALSE(h.first<action::ConsumerFailed>()) << "it was attached once: keep trying";
  EXPECT_EQ(h.machine.status().state, TransportState::degraded);
  h.advance(150ms);
  auto declare = h.first<action::DeclareConsumer>();
  ASSERT_TRUE(declare);
  h.machine.on_consumer_declared(h.now, declare->consumer, {});
  h.take();
  auto again = h.first<action::AttachReceiver>();
  ASSERT_TRUE(again);
  h.machine.on_receiver_opened(h.now, again->link);
  h.take();
  EXPECT_EQ(h.granted(), 10u);
  EXPECT_EQ(h.machine.status().state, TransportState::connected);
}

TEST(LinkMachineReceive, FirstAttachFailureIsReported) {
  ConsumerHarness h;
  h.connect();
  h.machine.add_consumer(h.now, 3, "missing", 10);
  h.take();
  auto a = h.first<action::AttachReceiver>();
  ASSERT_TRUE(a);
  h.machine.on_link_closed(h.now, a->link, {"amqp:not-found", "no queue 'missing'"});
  h.take();
  auto failed = h.first<action::ConsumerFailed>();
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("not-found"), std::string::npos);
}

TEST(LinkMachineReceive, StopReleasesUnpolledInOneStepThenDetaches) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach(1, 10);
  for (std::uint64_t d = 1; d <= 5; ++d) h.machine.on_delivery(h.now, link, d);
  h.take();
  // 1 and 2 were polled and are being handled; 3..5 were never polled.
  h.machine.stop_consumer(h.now, 1, {{link, 3}, {link, 4}, {link, 5}});
  h.take();
  EXPECT_EQ(h.all<action::Settle>().size(), 3u);
  EXPECT_FALSE(h.first<action::Detach>()) << "handlers still hold 1 and 2";
  EXPECT_FALSE(h.machine.on_delivery(h.now, link, 6)) << "a stopping consumer takes nothing new";
  h.take();
  h.machine.settle(h.now, link, 1, Outcome::ack);
  h.machine.settle(h.now, link, 2, Outcome::ack);
  h.take();
  EXPECT_EQ(h.granted(), 0u);
  ASSERT_TRUE(h.first<action::Detach>());
  h.machine.on_link_detached(h.now, link);
  h.take();
  EXPECT_TRUE(h.first<action::ConsumerDetached>());
  EXPECT_EQ(h.machine.consumer_link(1), 0u);
}

// A stopping server drains what was prefetched: pausing grants no more credit, while what the
// broker may still send within the credit it has is taken (and later settled) as before.
TEST(LinkMachineReceive, PausedConsumerGrantsNoMoreCreditEvenAfterAReconnectButTakesWhatArrives) {
  ConsumerHarness h;
  h.connect();
  detail::LinkId link = h.attach(1, 10);
  for (std::uint64_t d = 1; d <= 8; ++d) h.machine.on_delivery(h.now, link, d);
  h.take();
  h.machine.pause_consumer(h.now, 1);
  EXPECT_TRUE(h.machine.on_delivery(h.now, link, 9)) << "granted before the pause: still taken";
  for (std::uint64_t d = 1; d <= 9; ++d) h.machine.settle(h.now, link, d, Outcome::ack);
  h.take();
  EXPECT_EQ(h.all<action::Settle>().size(), 9u);
  EXPECT_EQ(h.granted(), 0u) << "a paused consumer asks for nothing more";
  h.machine.on_disconnected(h.now, "reset", std::nullopt);
  h.advance(1ms);
  h.machine.on_connected(h.now);
  h.take();
  auto again = h.first<action::AttachReceiver>();
  ASSERT_TRUE(again);
  h.machine.on_receiver_opened(h.now, again->link);
  h.take();
  EXPECT_EQ(h.granted(), 0u) << "nor after re-attaching";
  h.machine.stop_consumer(h.now, 1, {});
  h.take();
  EXPECT_TRUE(h.first<action::Detach>());
}

TEST(LinkMachineReceive, StopDuringAttachDetachesOnceOpened) {
  ConsumerHarness h;
  h.connect();
  h.machine.add_consumer(h.now, 1, "q", 10);
  h.take();
  auto a = h.first<action::AttachReceiver>();
  ASSERT_TRUE(a);
  h.machine.stop_consumer(h.now, 1, {});
  h.take();
  h.machine.on_receiver_opened(h.now, a->link);
  h.take();
  EXPECT_FALSE(h.first<action::ConsumerAttached>());
  EXPECT_EQ(h.granted(), 0u);
  ASSERT_TRUE(h.first<action::Detach>());
}

TEST(LinkMachineReceive, ConsumerAddedWhileDisconnectedAttachesOnConnect) {
  ConsumerHarness h;
  h.machine.start(h.now);
  h.machine.add_consumer(h.now, 1, "q", 10);
  h.take();
  EXPECT_FALSE(h.first<action::AttachReceiver>());
  h.machine.on_connected(h.now);
  h.take();
  EXPECT_TRUE(h.first<action::AttachReceiver>());
}

}  // namespace
}  // namespace herald::test
