#pragma once
// A scripted driver for LinkMachine: feeds events with a fake clock and collects actions.

#include "transports/amqp/link_machine.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace herald::test {

using namespace std::chrono_literals;
using detail::Action;
using detail::LinkMachine;
using detail::Outcome;
namespace action = detail::action;

/// Every send outcome a test made.
struct Outcomes {
  std::vector<std::pair<std::error_code, std::string>> results;
  detail::SendCallback callback() {
    return [this](std::error_code ec, std::string_view reason) { results.emplace_back(ec, std::string(reason)); };
  }
  std::size_t ok() const {
    std::size_t n = 0;
    for (const auto& r : results) n += !r.first;
    return n;
  }
  std::size_t failed() const { return results.size() - ok(); }
};

class MachineHarness {
 public:
  explicit MachineHarness(detail::LinkMachineOptions options = {}) : machine(std::move(options)) {}

  LinkMachine machine;
  LinkMachine::TimePoint now{std::chrono::seconds(1000)};
  std::vector<Action> actions;  // since the last take()
  Outcomes outcomes;
  std::optional<action::AttachSender> latest_sender_attach;  // across take() calls

  /// Collects the machine's actions and runs Complete callbacks (as the adapter does).
  /// Answer every Declare with success at once (tests of declarations turn this off).
  bool auto_declare = true;

  std::vector<Action>& take() {
    actions = machine.take_actions();
    if (auto_declare) {
      for (std::size_t i = 0; i < actions.size(); ++i)
        if (auto* d = std::get_if<action::Declare>(&actions[i])) {
          machine.on_declared(now, std::string(d->address), {});
          for (Action& more : machine.take_actions()) actions.push_back(std::move(more));
        }
    }
    for (Action& a : actions) {
      if (auto* c = std::get_if<action::Complete>(&a))
        if (c->done) c->done(c->error, c->reason);
      if (auto* attach = std::get_if<action::AttachSender>(&a)) latest_sender_attach = *attach;
    }
    return actions;
  }
  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const Action& a : actions)
      if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
    return out;
  }
  template <class T>
  std::optional<T> first() const {
    auto v = all<T>();
    if (v.empty()) return std::nullopt;
    return v.front();
  }
  void advance(std::chrono::milliseconds by) {
    now += by;
    machine.on_tick(now);
    take();
  }

  /// Starts and connects; returns after on_connected.
  void connect() {
    machine.start(now);
    take();
    machine.on_connected(now);
    take();
  }
  void send(const std::string& address = "/exchange/openstack/n.info", int retry = -1) {
    detail::OutgoingMessage m{"openstack", "n.info", "{}", "id", retry};
    machine.submit(now, address, "openstack", std::move(m), outcomes.callback(), 2);
    take();
  }
  /// Declares ok (if asked), opens the sender link and grants credit; returns its link id.
  detail::LinkId open_sender(const std::string& address = "/exchange/openstack/n.info", std::uint32_t credit = 100) {
    if (!auto_declare) {
      machine.on_declared(now, address, {});  // a repeat counts as a periodic check: harmless
      take();
    }
    auto attach = latest_sender_attach;
    EXPECT_TRUE(attach) << "no AttachSender";
    if (!attach) return 0;
    open_link(attach->link, credit);
    return attach->link;
  }
  /// The broker opened sender link `link` and gave it `credit`.
  void open_link(detail::LinkId link, std::uint32_t credit) {
    machine.on_sender_opened(now, link);
    machine.on_sendable(now, link, credit);
    take();
  }
  void accept_all_transfers() {
    auto transfers = all<action::Transfer>();
    for (const auto& t : transfers) machine.on_outcome(now, t.message, detail::DeliveryOutcome::accepted);
    take();
  }
};

}  // namespace herald::test
