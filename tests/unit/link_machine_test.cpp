// LinkMachine, connection and send side: scripted event sequences, no broker.
#include "tests/unit/link_machine_support.hpp"

namespace herald::test {
namespace {

const std::string kAddress = "/exchange/openstack/n.info";

TEST(LinkMachineSend, DeclaresAttachesTransfersAndConfirms) {
  MachineHarness h;
  h.auto_declare = false;
  h.machine.start(h.now);
  h.take();
  ASSERT_TRUE(h.first<action::Connect>());
  h.send();
  EXPECT_FALSE(h.first<action::Declare>()) << "nothing is declared before the connection is up";
  h.machine.on_connected(h.now);
  h.take();
  auto declare = h.first<action::Declare>();
  ASSERT_TRUE(declare);
  EXPECT_EQ(declare->exchange, "openstack");
  EXPECT_EQ(declare->routing_key, "n.info");
  EXPECT_FALSE(h.first<action::AttachSender>()) << "never attach before the declaration succeeded";
  h.open_sender();
  ASSERT_EQ(h.all<action::Transfer>().size(), 1u);
  EXPECT_EQ(h.machine.unconfirmed(), 1u);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
  EXPECT_EQ(h.machine.unconfirmed(), 0u);
  EXPECT_EQ(h.machine.status().state, TransportState::connected);
}

TEST(LinkMachineSend, ForcedCloseResendsInsteadOfFailing) {
  // RabbitMQ's close_all_connections ends each link with amqp:internal-error, then closes.
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  for (int i = 0; i < 3; ++i) h.send();
  detail::LinkId link = h.open_sender();
  ASSERT_EQ(h.all<action::Transfer>().size(), 3u);
  h.machine.on_link_closed(h.now, link, {"amqp:internal-error", "shutdown"});
  h.take();
  h.machine.on_disconnected(h.now, "connection forced", std::nullopt);
  h.take();
  EXPECT_EQ(h.outcomes.results.size(), 0u) << "a lost connection never fails a send by itself";
  EXPECT_EQ(h.machine.status().state, TransportState::connecting);
  h.advance(50ms);
  EXPECT_FALSE(h.first<action::Connect>());
  h.advance(50ms);
  ASSERT_TRUE(h.first<action::Connect>()) << "reconnect after reconnect_delay";
  h.machine.on_connected(h.now);
  h.take();
  ASSERT_TRUE(h.first<action::Declare>()) << "a restarted broker may have forgotten the topology";
  EXPECT_FALSE(h.first<action::AttachSender>());
  h.machine.on_declared(h.now, kAddress, {});
  h.take();
  auto attach = h.first<action::AttachSender>();
  ASSERT_TRUE(attach);
  EXPECT_NE(attach->link, link);
  h.open_link(attach->link, 100);
  auto transfers = h.all<action::Transfer>();
  ASSERT_EQ(transfers.size(), 3u);
  EXPECT_LT(transfers[0].message, transfers[1].message) << "resent in send order";
  // An outcome from the old link is ignored.
  h.machine.on_outcome(h.now, 999, detail::DeliveryOutcome::accepted);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 3u);
  EXPECT_EQ(h.outcomes.failed(), 0u);
}

TEST(LinkMachineSend, SessionErrorReattachesWithBackoffOnTheSameConnection) {
  MachineHarness h;
  h.connect();
  h.send();
  detail::LinkId link = h.open_sender();
  h.machine.on_link_closed(h.now, link, {"amqp:internal-error", "crash"});
  h.take();
  EXPECT_FALSE(h.first<action::AttachSender>()) << "not at once: backoff";
  EXPECT_EQ(h.machine.status().state, TransportState::degraded);
  h.advance(50ms);
  EXPECT_FALSE(h.first<action::AttachSender>());
  h.advance(60ms);
  auto attach = h.first<action::AttachSender>();
  ASSERT_TRUE(attach);
  h.open_link(attach->link, 10);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
  EXPECT_EQ(h.machine.status().state, TransportState::connected);
}

TEST(LinkMachineSend, MissingExchangeIsDeclaredAgainBeforeReattaching) {
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  h.send();
  detail::LinkId link = h.open_sender();
  h.machine.on_link_closed(h.now, link, {"amqp:not-found", "no exchange 'openstack'"});
  h.take();
  h.advance(200ms);
  ASSERT_TRUE(h.first<action::Declare>());
  EXPECT_FALSE(h.first<action::AttachSender>());
  h.open_sender();
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

TEST(LinkMachineSend, ReconnectInTheMiddleOfAResend) {
  MachineHarness h;
  h.connect();
  for (int i = 0; i < 4; ++i) h.send();
  h.open_sender();
  h.machine.on_disconnected(h.now, "reset", std::nullopt);
  h.take();
  h.advance(1ms);
  h.machine.on_connected(h.now);
  h.take();
  auto attach = h.first<action::AttachSender>();
  ASSERT_TRUE(attach);
  h.machine.on_sender_opened(h.now, attach->link);
  h.machine.on_sendable(h.now, attach->link, 2);  // only two go out again
  h.take();
  ASSERT_EQ(h.all<action::Transfer>().size(), 2u);
  h.machine.on_disconnected(h.now, "reset again", std::nullopt);
  h.take();
  h.advance(1ms);
  h.machine.on_connected(h.now);
  h.take();
  attach = h.first<action::AttachSender>();
  ASSERT_TRUE(attach);
  h.open_link(attach->link, 100);
  auto transfers = h.all<action::Transfer>();
  ASSERT_EQ(transfers.size(), 4u);
  for (std::size_t i = 1; i < transfers.size(); ++i) EXPECT_LT(transfers[i - 1].message, transfers[i].message);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 4u);
}

TEST(LinkMachineSend, CloseDuringAttach) {
  MachineHarness h;
  h.connect();
  h.send();
  auto attach = h.latest_sender_attach;
  ASSERT_TRUE(attach);
  h.machine.on_disconnected(h.now, "closed", std::nullopt);
  h.take();
  h.machine.on_sender_opened(h.now, attach->link);  // late event of the old connection
  h.take();
  h.advance(1ms);
  h.machine.on_connected(h.now);
  h.take();
  auto again = h.first<action::AttachSender>();
  ASSERT_TRUE(again);
  EXPECT_NE(again->link, attach->link);
  h.open_link(again->link, 5);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

TEST(LinkMachineSend, DeclarationRefusedIsRetriedThenFailsNamingTheMismatch) {
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  h.send();
  const detail::DeclareResult refused{Errc::precondition_failed,
                                      "exchange 'openstack': inequivalent arg 'durable' (exists with durable=true)"};
  int declarations = 0;
  for (int i = 0; i < 20 && h.outcomes.results.empty(); ++i) {
    if (h.first<action::Declare>()) {
      ++declarations;
      EXPECT_FALSE(h.first<action::AttachSender>());
      h.machine.on_declared(h.now, kAddress, refused);
      h.take();
    }
    h.advance(1s);
  }
  EXPECT_EQ(declarations, 5) << "declare_attempts";
  ASSERT_EQ(h.outcomes.failed(), 1u);
  EXPECT_EQ(h.outcomes.results[0].first, make_error_code(Errc::precondition_failed));
  EXPECT_NE(h.outcomes.results[0].second.find("durable"), std::string::npos) << h.outcomes.results[0].second;
  // Later sends fail at once while the address keeps refusing; nothing was ever transferred.
  h.send();
  EXPECT_EQ(h.outcomes.failed(), 2u);
  EXPECT_EQ(h.machine.status().state, TransportState::degraded);
  // The operator fixes the exchange: the next retry succeeds and sends flow again.
  h.advance(6s);
  ASSERT_TRUE(h.first<action::Declare>());
  h.machine.on_declared(h.now, kAddress, {});
  h.take();
  h.send();
  auto attach = h.first<action::AttachSender>();
  ASSERT_TRUE(attach);
  h.open_link(attach->link, 5);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

TEST(LinkMachineSend, UnreachableManagementApiMakesSendsWaitNotFail) {
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  h.send();
  for (int i = 0; i < 50; ++i) {
    if (h.first<action::Declare>()) {
      h.machine.on_declared(h.now, kAddress, {Errc::unreachable, "management API unreachable"});
      h.take();
    }
    h.advance(1s);
  }
  EXPECT_TRUE(h.outcomes.results.empty());
  EXPECT_EQ(h.machine.status().state, TransportState::degraded);
  EXPECT_NE(h.machine.status().reason.find("unreachable"), std::string::npos);
  h.advance(10s);
  h.open_sender();
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

TEST(LinkMachineSend, AuthFailureIsReportedAtOnceAndRetriedSlowly) {
  detail::LinkMachineOptions options;
  options.auth_retry_delay = 30s;
  MachineHarness h(options);
  h.machine.start(h.now);
  h.take();
  h.send();
  h.machine.add_consumer(h.now, 7, "q", 10);
  h.machine.on_disconnected(h.now, "authentication failed for user 'guest'", Errc::unauthorized);
  h.take();
  EXPECT_EQ(h.machine.status().state, TransportState::failed);
  auto failed = h.first<action::ConsumerFailed>();
  ASSERT_TRUE(failed) << "listen() must not wait for connect_timeout";
  EXPECT_EQ(failed->code, Errc::unauthorized);
  EXPECT_TRUE(h.outcomes.results.empty()) << "sends wait for the credentials to be fixed";
  EXPECT_EQ(h.all<action::Log>().size(), 1u);
  h.machine.add_consumer(h.now, 8, "q", 10);  // listen() after the failure fails at once too
  h.take();
  ASSERT_TRUE(h.first<action::ConsumerFailed>());
  EXPECT_EQ(h.first<action::ConsumerFailed>()->code, Errc::unauthorized);
  h.advance(29s);
  EXPECT_FALSE(h.first<action::Connect>());
  h.advance(1s);
  ASSERT_TRUE(h.first<action::Connect>());
  h.machine.on_connected(h.now);
  h.take();
  EXPECT_NE(h.machine.status().state, TransportState::failed);
  h.open_sender();
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

TEST(LinkMachineSend, RetryBudgetFailsAfterNResends) {
  MachineHarness h;
  h.connect();
  h.send(kAddress, 1);
  for (int round = 0; round < 2; ++round) {
    if (round == 0)
      h.open_sender();
    else {
      auto attach = h.first<action::AttachSender>();
      ASSERT_TRUE(attach);
      h.open_link(attach->link, 5);
    }
    ASSERT_EQ(h.all<action::Transfer>().size(), 1u);
    h.machine.on_disconnected(h.now, "reset", std::nullopt);
    h.take();
    h.advance(1ms);
    h.machine.on_connected(h.now);
    h.take();
  }
  ASSERT_EQ(h.outcomes.failed(), 1u);
  EXPECT_NE(h.outcomes.results[0].second.find("resend"), std::string::npos);
}

// RabbitMQ 3.10 answers a publish to a full reject-publish queue by crashing the session: the
// connection resets ~3 s later with the messages unconfirmed, and never says why.
struct LossHarness : MachineHarness {
  // Loses the connection with what is on the wire, reconnects, re-attaches with `credit`.
  void lose_and_reattach(std::uint32_t credit = 100) {
    machine.on_disconnected(now, "Connection reset by peer", std::nullopt, true);
    take();
    advance(60s);
    machine.on_connected(now);
    take();
    if (!first<action::AttachSender>()) advance(60s);
    auto attach = first<action::AttachSender>();
    ASSERT_TRUE(attach);
    machine.on_sender_opened(now, attach->link);
    machine.on_sendable(now, attach->link, credit);
    take();
  }
};

TEST(LinkMachineSend, RepeatedLossWithUnconfirmedMessagesProbesOneAtATimeAndAnAcceptEndsIt) {
  LossHarness h;
  h.connect();
  for (int i = 0; i < 5; ++i) h.send();
  h.open_sender();
  h.lose_and_reattach();
  EXPECT_EQ(h.all<action::Transfer>().size(), 5u) << "one loss: everything is resent";
  h.lose_and_reattach();
  EXPECT_EQ(h.all<action::Transfer>().size(), 1u) << "two losses without an accept: one at a time";
  EXPECT_EQ(h.machine.status().state, TransportState::degraded);
  EXPECT_TRUE(h.outcomes.results.empty());
  h.accept_all_transfers();
  EXPECT_EQ(h.all<action::Transfer>().size(), 4u) << "an accept ends probing";
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 5u);
  EXPECT_EQ(h.machine.status().state, TransportState::connected);
}

TEST(LinkMachineSend, ForcedClosesNeverLeadToProbing) {
  LossHarness h;
  h.connect();
  for (int i = 0; i < 5; ++i) h.send();
  h.open_sender();
  for (int i = 0; i < 4; ++i) {
    h.machine.on_disconnected(h.now, "amqp:connection:forced", std::nullopt, false);
    h.take();
    h.advance(60s);
    h.machine.on_connected(h.now);
    h.take();
    auto attach = h.latest_sender_attach;
    ASSERT_TRUE(attach);
    h.open_link(attach->link, 100);
    EXPECT_EQ(h.all<action::Transfer>().size(), 5u) << i;
  }
  EXPECT_TRUE(h.outcomes.results.empty());
}

TEST(LinkMachineSend, ALostProbeMeansTheBrokerRefusesWhatWaitsFailsAndNewSendsFailUntilTheBackoffEnds) {
  LossHarness h;
  h.connect();
  for (int i = 0; i < 5; ++i) h.send();
  h.open_sender();
  h.lose_and_reattach();
  h.lose_and_reattach();
  ASSERT_EQ(h.all<action::Transfer>().size(), 1u);
  h.machine.on_disconnected(h.now, "Connection reset by peer", std::nullopt, true);  // the probe alone was lost
  h.take();
  ASSERT_EQ(h.outcomes.failed(), 5u);
  for (const auto& [code, reason] : h.outcomes.results) {
    EXPECT_EQ(code, make_error_code(Errc::rejected));
    EXPECT_NE(reason.find("reject-publish"), std::string::npos) << reason;
  }
  h.machine.on_connected(h.now);
  h.take();
  h.send();
  EXPECT_EQ(h.outcomes.failed(), 6u) << "refused at once while the backoff runs";
  EXPECT_FALSE(h.first<action::Transfer>());
  h.advance(1100ms);
  h.send();
  EXPECT_EQ(h.outcomes.failed(), 6u) << "after the backoff the next send probes again";
  auto attach = h.latest_sender_attach;
  ASSERT_TRUE(attach);
  h.open_link(attach->link, 10);
  ASSERT_EQ(h.all<action::Transfer>().size(), 1u);
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

TEST(LinkMachineSend, ReleasedMeansNotQueuedRedeclareAndResend) {
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  h.send();
  h.open_sender();
  auto transfer = h.first<action::Transfer>();
  ASSERT_TRUE(transfer);
  h.machine.on_outcome(h.now, transfer->message, detail::DeliveryOutcome::released);
  h.take();
  EXPECT_TRUE(h.outcomes.results.empty());
  h.advance(200ms);
  auto declare = h.first<action::Declare>();
  ASSERT_TRUE(declare);
  h.machine.on_declared(h.now, kAddress, {});
  h.take();
  ASSERT_EQ(h.all<action::Transfer>().size(), 1u) << "resent on the same link";
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 1u);
}

// RabbitMQ 4 releases every message of a window when their queue is deleted: that is one
// missing route, not fifty failures (the backoff must not climb to its maximum), and the
// resend keeps the send order.
TEST(LinkMachineSend, AWindowReleasedAtOnceRedeclaresOnceAndResendsInOrder) {
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  for (int i = 0; i < 50; ++i) h.send();
  h.open_sender();
  auto transfers = h.all<action::Transfer>();
  ASSERT_EQ(transfers.size(), 50u);
  for (const auto& t : transfers) h.machine.on_outcome(h.now, t.message, detail::DeliveryOutcome::released);
  h.take();
  EXPECT_TRUE(h.outcomes.results.empty());
  h.advance(200ms);
  ASSERT_EQ(h.all<action::Declare>().size(), 1u) << "declared again promptly, once";
  h.machine.on_declared(h.now, kAddress, {});
  h.take();
  auto resent = h.all<action::Transfer>();
  ASSERT_EQ(resent.size(), 50u);
  for (std::size_t i = 0; i < resent.size(); ++i) EXPECT_EQ(resent[i].message, transfers[i].message) << i;
  h.accept_all_transfers();
  EXPECT_EQ(h.outcomes.ok(), 50u);
}

TEST(LinkMachineSend, RejectedIsAFailureWithTheBrokersReason) {
  MachineHarness h;
  h.connect();
  h.send();
  h.open_sender();
  auto transfer = h.first<action::Transfer>();
  ASSERT_TRUE(transfer);
  h.machine.on_outcome(h.now, transfer->message, detail::DeliveryOutcome::rejected,
                       {"amqp:resource-limit-exceeded", "queue full"});
  h.take();
  ASSERT_EQ(h.outcomes.failed(), 1u);
  EXPECT_EQ(h.outcomes.results[0].first, make_error_code(Errc::rejected));
  EXPECT_NE(h.outcomes.results[0].second.find("queue full"), std::string::npos);
}

// RabbitMQ 4.0 rejects what a full reject-publish queue refuses with no error at all: the
// failure still says what that means.
TEST(LinkMachineSend, RejectedWithoutAnErrorSaysWhatRabbitMqMeansByIt) {
  MachineHarness h;
  h.connect();
  h.send();
  h.open_sender();
  auto transfer = h.first<action::Transfer>();
  ASSERT_TRUE(transfer);
  h.machine.on_outcome(h.now, transfer->message, detail::DeliveryOutcome::rejected, {});
  h.take();
  ASSERT_EQ(h.outcomes.failed(), 1u);
  EXPECT_EQ(h.outcomes.results[0].first, make_error_code(Errc::rejected));
  const std::string& reason = h.outcomes.results[0].second;
  EXPECT_NE(reason.find("full with overflow=reject-publish"), std::string::npos) << reason;
  EXPECT_NE(reason.find("at '" + kAddress), std::string::npos) << reason;
}

TEST(LinkMachineSend, FailuresAreLoggedOncePerCauseAndWindow) {
  MachineHarness h;
  h.connect();
  for (int i = 0; i < 100; ++i) h.send();
  h.open_sender();
  std::size_t logs = 0;
  for (const auto& t : h.all<action::Transfer>()) {
    h.machine.on_outcome(h.now, t.message, detail::DeliveryOutcome::rejected, {"amqp:x", "queue full"});
    for (const Action& a : h.machine.take_actions()) logs += std::holds_alternative<action::Log>(a);
  }
  EXPECT_EQ(logs, 1u);
  h.advance(11s);
  ASSERT_EQ(h.all<action::Log>().size(), 1u);
  EXPECT_NE(h.all<action::Log>()[0].text.find("99 sends failed"), std::string::npos) << h.all<action::Log>()[0].text;
}

TEST(LinkMachineSend, PeriodicCheckRedeclaresWhileSending) {
  MachineHarness h;
  h.auto_declare = false;
  h.connect();
  h.send();
  h.open_sender();
  h.accept_all_transfers();
  h.advance(1100ms);
  auto check = h.first<action::Declare>();
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->verify);
  h.machine.on_declared(h.now, kAddress, {});
  h.take();
  h.send();
  h.accept_all_transfers();
  h.advance(1100ms);
  EXPECT_TRUE(h.first<action::Declare>());
  h.advance(5s);  // idle: no more checks
  h.advance(1100ms);
  EXPECT_FALSE(h.first<action::Declare>());
}

TEST(LinkMachineSend, TopologyNoneAttachesWithoutDeclaringAndFailsAfterRefusals) {
  detail::LinkMachineOptions options;
  options.declare = false;
  options.declare_attempts = 2;
  MachineHarness h(options);
  h.connect();
  h.send();
  for (int i = 0; i < 2; ++i) {
    auto attach = h.first<action::AttachSender>();
    ASSERT_TRUE(attach) << i;
    EXPECT_FALSE(h.first<action::Declare>());
    h.machine.on_link_closed(h.now, attach->link, {"amqp:not-found", "no exchange 'x'"});
    h.take();
    h.advance(1s);
  }
  ASSERT_EQ(h.outcomes.failed(), 1u);
  EXPECT_NE(h.outcomes.results[0].second.find("no exchange"), std::string::npos);
}

TEST(LinkMachineSend, StopFailsWhatWaitsAndDetaches) {
  MachineHarness h;
  h.connect();
  h.send();
  detail::LinkId link = h.open_sender();
  h.send();
  h.machine.stop(h.now);
  h.take();
  EXPECT_EQ(h.outcomes.failed(), 2u);
  EXPECT_EQ(h.outcomes.results[0].first, make_error_code(Errc::closed));
  auto detach = h.first<action::Detach>();
  ASSERT_TRUE(detach);
  EXPECT_EQ(detach->link, link);
  EXPECT_TRUE(h.machine.stopped_and_detached());
}

TEST(LinkMachineConnection, FailoverTriesEveryHostThenBacksOff) {
  detail::LinkMachineOptions options;
  options.hosts = 2;
  options.reconnect_delay = 100ms;
  options.reconnect_max_delay = 400ms;
  MachineHarness h(options);
  h.machine.start(h.now);
  h.take();
  EXPECT_EQ(h.first<action::Connect>()->host, 0u);
  h.machine.on_disconnected(h.now, "refused", std::nullopt);
  h.advance(1ms);
  ASSERT_TRUE(h.first<action::Connect>());
  EXPECT_EQ(h.first<action::Connect>()->host, 1u);
  h.machine.on_disconnected(h.now, "refused", std::nullopt);
  h.advance(50ms);
  EXPECT_FALSE(h.first<action::Connect>()) << "a full round failed: back off";
  h.advance(60ms);
  ASSERT_TRUE(h.first<action::Connect>());
  EXPECT_EQ(h.first<action::Connect>()->host, 0u);
  for (int i = 0; i < 10; ++i) {
    h.machine.on_disconnected(h.now, "refused", std::nullopt);
    h.advance(401ms);
    EXPECT_TRUE(h.first<action::Connect>()) << "capped at reconnect_max_delay";
  }
}

TEST(LinkMachineConnection, StatusChangesAreEmittedOnce) {
  MachineHarness h;
  h.machine.start(h.now);
  h.take();
  h.machine.on_connected(h.now);
  h.take();
  ASSERT_EQ(h.all<action::StatusChanged>().size(), 1u);
  EXPECT_EQ(h.all<action::StatusChanged>()[0].status.state, TransportState::connected);
  h.advance(1s);
  EXPECT_TRUE(h.all<action::StatusChanged>().empty());
  h.machine.on_disconnected(h.now, "gone", std::nullopt);
  h.take();
  ASSERT_EQ(h.all<action::StatusChanged>().size(), 1u);
  EXPECT_EQ(h.all<action::StatusChanged>()[0].status.state, TransportState::connecting);
  EXPECT_NE(h.all<action::StatusChanged>()[0].status.reason.find("gone"), std::string::npos);
}

}  // namespace
}  // namespace herald::test
