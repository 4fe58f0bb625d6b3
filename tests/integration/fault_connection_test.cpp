// Issue 8, connection faults: losing the connection (forced close, broker stop, kill -9) never
// fails a send by itself and loses nothing confirmed; bad credentials are reported at once and
// heal without a restart once the user exists.
#include "tests/integration/fault_support.hpp"

#include <herald/error.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <iostream>
#include <regex>
#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;

// Issue table row 1: `rabbitmqctl close_all_connections` ends the links with amqp:internal-error
// before closing; that must not fail a send. The producer sends at a steady rate so messages are
// in flight at every close; the consumer runs on its own transport (also closed each time).
TEST(FaultConnection, ForcedCloseTenTimesDuring30kSendsNoneFailedNoneLost) {
  Watchdog watchdog(170s);
  constexpr std::size_t kCount = 30'000;
  constexpr int kCloses = 10;
  StreamRig rig(kCount);
  Ledger& ledger = rig.ledger;

  std::atomic<int> closes{0};
  std::string close_output;
  std::thread closer([&] {
    for (int i = 0; i < kCloses; ++i) {
      std::this_thread::sleep_for(1200ms);
      auto result = broker_ctl("close_all_connections 'herald fault test'");
      if (result.status == 0) ++closes;
      if (i == 0) close_output = result.output;
    }
  });
  auto started = std::chrono::steady_clock::now();
  send_paced(kCount, 1200, [&](std::size_t i) { rig.send(i); });
  closer.join();
  double send_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  bool all_outcomes = ledger.wait_outcomes(kCount, 90s);
  bool all_consumed = ledger.wait_consumed(60s);  // every confirmed one (failed ones may never come)
  rig.stop_consumer();

  // The longest pause of the consumer: how long a forced close kept it detached.
  double consumer_stall = rig.consumer.longest_pause();
  std::cout << "[ fault ] " << closes << " forced closes in " << send_seconds << " s of sending; longest consumer "
            << "pause " << consumer_stall << " s; first close_all_connections said: " << close_output.substr(0, 200)
            << "\n";
  print_figures("forced close x10 during 30k sends", ledger, &rig.log);
  for (const auto& line : log_sample(rig.listener_log, 6))
    std::cout << "[ fault ]   listener: " << line.substr(0, 300) << "\n";
  auto f = ledger.figures();
  EXPECT_EQ(closes, kCloses);
  // The stream is steady at 1,200/s: a long pause means a link re-attached only after the
  // reconnect backoff (10 s before issue 8). RabbitMQ 3.10 ends only the session here.
  EXPECT_LT(consumer_stall, 5.0) << "the consumer (or the producer) stayed detached after a forced close";
  EXPECT_TRUE(all_outcomes) << "only " << ledger.outcomes() << " of " << kCount << " sends got an outcome in 90 s";
  EXPECT_EQ(f.failed, 0u) << "first failure: " << ledger.first_error().message() << ": " << ledger.first_reason();
  EXPECT_EQ(f.lost, 0u);
  EXPECT_TRUE(all_consumed) << "consumed " << f.consumed_unique << " of " << kCount;
  EXPECT_EQ(f.consumed_unique, kCount);
  EXPECT_EQ(rig.objects.left_in_queues(), 0u);
}

// Issue table row 2 and the "done when" of issue 8: a new user runs `herald send --count 20000`
// with default options across a 30 s broker outage (stop_app, 30 s, start_app). The queue is
// durable (amqp_durable_queues=true) because RabbitMQ itself deletes transient queues, and the
// messages in them, when it stops: that loss would not be Herald's.
TEST(FaultConnection, BrokerRestartedAfter30sStopDuringHeraldSend20000ExitsZeroNoneLost) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  std::atomic<bool> app_stopped{false};
  Watchdog watchdog(260s, [&] {
    if (app_stopped) broker_ctl("start_app");
  });
  constexpr std::size_t kCount = 20'000;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("cli-restart");
  objects.queue(topic + ".info");
  const std::string url = broker_url("?amqp_durable_queues=true");

  ChildProcess listen(herald_listen_argv(url, exchange, topic));
  // Wait until the listener's queue exists and it consumes, so nothing is sent before a binding.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto queues = list_queues();
    auto it = queues.find(topic + ".info");
    if (it != queues.end() && it->second.consumers > 0) break;
    std::this_thread::sleep_for(200ms);
  }
  const std::string payload = R"({"pad": ")" + std::string(400, 'p') + R"("})";
  ChildProcess send({cli_path(),       "send",
                     "--url",          url,
                     "--exchange",     exchange,
                     "--topic",        topic,
                     "--priority",     "info",
                     "--publisher-id", "fault.cli",
                     "--event-type",   "fault.restart",
                     "--payload",      payload,
                     "--count",        std::to_string(kCount),
                     "--timeout",      "150"});
  ASSERT_TRUE(listen.wait_lines(300, 30s)) << "the listener printed nothing within 30 s";
  std::size_t consumed_at_stop = listen.line_count();
  auto stop = broker_ctl("stop_app");
  app_stopped = true;
  std::size_t consumed_after_stop = listen.line_count();
  auto stopped_at = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(30s);
  auto start = broker_ctl("start_app");
  app_stopped = false;
  ASSERT_EQ(start.status, 0) << start.output;
  ASSERT_TRUE(wait_broker_up(60s));
  double outage = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();

  auto send_status = send.wait_exit(180s);
  // herald send prints "...: <n> confirmed, <n> failed, <n> unconfirmed in ..."
  std::size_t confirmed = 0, failed = 0;
  std::string summary;
  for (const auto& line : send.lines()) {
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"((\d+) confirmed, (\d+) failed)"))) {
      confirmed = std::stoul(m[1]);
      failed = std::stoul(m[2]);
      summary = line;
    }
  }
  // Wait for every confirmed notification (all of them when herald send succeeded).
  ListenTally tally;
  std::size_t tallied = 0;
  deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto lines = listen.lines();
    for (; tallied < lines.size(); ++tallied) tally.add(lines[tallied]);
    if (tally.message_ids.size() >= std::max<std::size_t>(confirmed, 1) || std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_for(1s);  // late duplicates
  for (auto lines = listen.lines(); tallied < lines.size(); ++tallied) tally.add(lines[tallied]);
  listen.signal(SIGTERM);
  auto listen_status = listen.wait_exit(20s);

  FaultFigures f;
  f.attempted = kCount;
  f.confirmed = confirmed;
  f.failed = failed;
  f.consumed_unique = tally.message_ids.size();
  f.duplicates = tally.lines - tally.unparsable - tally.message_ids.size();
  // The CLI gives no per-message outcome: lost and falsely failed are bounds from the totals.
  f.lost = confirmed > f.consumed_unique ? confirmed - f.consumed_unique : 0;
  f.falsely_failed = f.consumed_unique > confirmed ? std::min(failed, f.consumed_unique - confirmed) : 0;
  std::cout << "[ fault ] herald send across a 30 s stop_app (outage " << outage << " s; " << consumed_at_stop
            << " consumed when stop_app began, " << consumed_after_stop << " when it returned): " << f.line() << "\n"
            << "[ fault ]   herald send: exit " << (send_status ? std::to_string(*send_status) : "none (killed)")
            << ", \"" << summary << "\"; herald listen exit "
            << (listen_status ? std::to_string(*listen_status) : "none") << "\n";
  EXPECT_EQ(stop.status, 0) << stop.output;
  EXPECT_LT(consumed_at_stop, kCount) << "the stream ended before the outage: the scenario did not test anything";
  ASSERT_TRUE(send_status.has_value()) << "herald send did not exit within 180 s of the restart";
  EXPECT_EQ(*send_status, 0) << summary;
  EXPECT_EQ(f.failed, 0u);
  EXPECT_EQ(f.consumed_unique, kCount);
  EXPECT_EQ(f.lost, 0u);
  EXPECT_EQ(objects.left_in_queues(), 0u);
}

// Issue table row 2 (kill -9 variant): the broker's beam process is SIGKILLed mid-stream and
// started again. Durable queue and messages, so the broker keeps what it confirmed.
TEST(FaultConnection, BrokerKilledMidStreamAndRestartedNoneLost) {
  std::atomic<bool> killed{false};
  Watchdog watchdog(200s, [&] {
    if (killed) broker_script("start");
  });
  constexpr std::size_t kCount = 20'000;
  // The caller's bound on blocking while the send buffer is full: longer than the 19-36 s a
  // killed broker needs to come back, so no send may fail (the default 10 s would fail the
  // sends made while the buffer stays full, which is that bound working, not a loss).
  StreamRig rig(kCount, "?amqp_durable_queues=true", 90s);
  Ledger& ledger = rig.ledger;

  double down_seconds = 0;
  std::size_t outcomes_at_kill = 0;
  std::thread killer([&] {
    auto limit = std::chrono::steady_clock::now() + 30s;
    while (ledger.outcomes() < 4'000 && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(10ms);
    outcomes_at_kill = ledger.outcomes();
    auto at = std::chrono::steady_clock::now();
    killed = broker_script("kill9");
    broker_script("start");
    wait_broker_up(60s);
    killed = false;
    down_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - at).count();
  });
  send_paced(kCount, 1000, [&](std::size_t i) { rig.send(i); });
  killer.join();
  bool all_outcomes = ledger.wait_outcomes(kCount, 90s);
  bool all_consumed = ledger.wait_consumed(60s);  // every confirmed one (failed ones may never come)
  rig.stop_consumer();

  std::cout << "[ fault ] kill -9 after " << outcomes_at_kill << " outcomes; broker back after " << down_seconds
            << " s\n";
  print_figures("kill -9 of the broker mid-stream", ledger, &rig.log);
  auto f = ledger.figures();
  EXPECT_TRUE(all_outcomes) << "only " << ledger.outcomes() << " of " << kCount << " sends got an outcome";
  EXPECT_EQ(f.failed, 0u) << "first failure: " << ledger.first_error().message() << ": " << ledger.first_reason();
  EXPECT_EQ(f.lost, 0u);
  EXPECT_TRUE(all_consumed);
  EXPECT_EQ(f.consumed_unique, kCount);
  EXPECT_EQ(rig.objects.left_in_queues(), 0u);
}

// Issue table row 9: a wrong password is reported at once (status failed with a reason, listen()
// throws unauthorized), sends wait instead of failing, and once the user exists with that
// password the transport heals within the retry delay and the waiting sends are confirmed.
TEST(FaultConnection, WrongPasswordThenUserCreatedHealsAndWaitingSendsAreConfirmed) {
  Watchdog watchdog(90s);
  constexpr std::size_t kCount = 50;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string key = objects.queue(unique_name("t") + ".info");
  ASSERT_LT(declare_exchange(exchange, false), 300);
  ASSERT_LT(declare_queue(key, false), 300);
  ASSERT_LT(bind_queue(exchange, key, key), 300);
  const std::string user = unique_name("user");
  const std::string password = "pw-" + unique_name("secret");
  broker_ctl("delete_user '" + user + "'");

  CapturedLog log;
  std::mutex status_mutex;
  std::vector<std::pair<double, TransportStatus>> statuses;
  auto opened = std::chrono::steady_clock::now();
  auto since_open = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count(); };
  TransportOptions options;
  options.logger = log.logger;
  options.on_status_change = [&](const TransportStatus& status) {
    std::lock_guard lock(status_mutex);
    statuses.emplace_back(since_open(), status);
  };
  auto transport = Transport::open("amqp://" + user + ":" + password + "@127.0.0.1:" + std::to_string(broker_port()) +
                                       "/?topology=none&auth_retry_delay=2",
                                   options);
  Ledger ledger(kCount);
  double longest_send = 0;
  for (std::size_t i = 0; i < kCount; ++i) {
    auto before = std::chrono::steady_clock::now();
    transport->driver().send(message(exchange, key, Ledger::body_for(i)), ledger.on_outcome(i));
    longest_send =
        std::max(longest_send, std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count());
  }
  // 3.10 holds the SASL verdict back ~3 s; the state must say `failed` within 5 s.
  double failed_at = -1;
  while (since_open() < 6) {
    if (transport->status().state == TransportState::failed) {
      failed_at = since_open();
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  TransportStatus failed_status = transport->status();
  std::string listen_error = "(no exception)";
  std::error_code listen_code;
  try {
    transport->driver().listen({{{key, exchange, key}}, 10});
  } catch (const TransportError& e) {
    listen_error = e.what();
    listen_code = e.code();
  } catch (const std::exception& e) {
    listen_error = std::string("other exception: ") + e.what();
  }
  std::this_thread::sleep_for(500ms);
  std::size_t failed_before_fix = ledger.failed();
  std::size_t attempts_before_fix = log.count("connecting to");
  double fixed_at = since_open();

  ASSERT_EQ(broker_ctl("add_user '" + user + "' '" + password + "'").status, 0);
  ASSERT_EQ(broker_ctl("set_permissions -p / '" + user + "' '.*' '.*' '.*'").status, 0);
  double permissions_at = since_open();
  bool healed = ledger.wait_outcomes(kCount, 15s);
  double healed_at = since_open();
  TransportStatus healed_status = transport->status();

  drain_queue(exchange, key, key, ledger, 10s, 500ms);
  transport.reset();
  broker_ctl("delete_user '" + user + "'");

  std::cout << "[ fault ] wrong password: status failed at " << failed_at << " s (reason \"" << failed_status.reason
            << "\"); listen() threw \"" << listen_error << "\"; longest send() " << longest_send * 1000 << " ms; "
            << attempts_before_fix << " connection attempts in the " << fixed_at
            << " s before the fix; user created at " << permissions_at << " s; all outcomes by " << healed_at << " s ("
            << (healed ? "healed" : "not healed") << "), status then " << to_string(healed_status.state) << "\n";
  {
    std::lock_guard lock(status_mutex);
    for (const auto& [at, status] : statuses)
      std::cout << "[ fault ]   status at " << at << " s: " << to_string(status.state) << " " << status.reason << "\n";
  }
  print_figures("wrong password, then the user created", ledger, &log);
  auto f = ledger.figures();
  EXPECT_GE(failed_at, 0) << "status() never became failed within 6 s; it is " << to_string(failed_status.state);
  EXPECT_LE(failed_at, 5.0);
  EXPECT_FALSE(failed_status.reason.empty());
  EXPECT_EQ(failed_status.reason.find(password), std::string::npos) << "password leaked into the reason";
  EXPECT_EQ(listen_code, make_error_code(Errc::unauthorized)) << listen_error;
  EXPECT_LT(longest_send, 0.25) << "send() blocked the caller";
  EXPECT_EQ(failed_before_fix, 0u) << "sends must wait for the credentials to be fixed, not fail: "
                                   << ledger.first_error().message() << ": " << ledger.first_reason();
  // One attempt per 2 s retry step (plus the first).
  EXPECT_LE(attempts_before_fix, static_cast<std::size_t>(fixed_at / 2) + 2) << log.text().substr(0, 3000);
  EXPECT_TRUE(healed) << ledger.outcomes() << " of " << kCount << " outcomes 15 s after the user was created";
  EXPECT_LE(healed_at - permissions_at, 2.0 + 3.0 + 1.0) << "heal must come within the retry delay (+3 s SASL)";
  EXPECT_EQ(f.confirmed, kCount);
  EXPECT_EQ(f.lost, 0u);
  EXPECT_EQ(healed_status.state, TransportState::connected) << healed_status.reason;
  EXPECT_EQ(log.text().find(password), std::string::npos) << "password leaked into the log";
  EXPECT_EQ(objects.left_in_queues(), 0u);
}

}  // namespace
}  // namespace herald::test
