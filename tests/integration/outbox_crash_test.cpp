// The durable outbox against the real broker (issue 11): a herald send process killed with
// SIGKILL while the broker is stopped, SIGKILL in the middle of group commits, a full outbox,
// and a damaged outbox file. Each prints its figures. The emitting process of the last three
// talks to a port where nothing listens (an unreachable broker) so the shared broker stays up.
#include "amqp_support.hpp"
#include "fault_broker.hpp"
#include "fault_process.hpp"

#include <herald/herald.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kDeadPort = 5694;  // nothing listens there (checked)

std::string dead_url() { return "amqp://guest:guest@127.0.0.1:" + std::to_string(kDeadPort) + "/"; }

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& what)
      : path(std::filesystem::temp_directory_path() / (unique_name(what) + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
};

std::vector<std::string> send_argv(const std::string& url, const std::string& exchange, const std::string& topic,
                                   const std::string& outbox, std::vector<std::string> extra) {
  std::vector<std::string> argv = {cli_path(),       "send",       "--url",      url,     "--exchange", exchange,
                                   "--topic",        topic,        "--priority", "audit", "--outbox",   outbox,
                                   "--publisher-id", "outbox.test"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// The largest "durable N" line of `herald send --report-durable`.
std::uint64_t last_durable(const ChildProcess& child) {
  std::uint64_t durable = 0;
  for (const std::string& line : child.lines())
    if (line.rfind("durable ", 0) == 0) durable = std::max<std::uint64_t>(durable, std::stoull(line.substr(8)));
  return durable;
}

// "<n> confirmed, <n> failed" from a summary line of herald send or herald outbox drain.
std::pair<std::size_t, std::size_t> confirmed_failed(const ChildProcess& child) {
  std::pair<std::size_t, std::size_t> out{0, 0};
  for (const std::string& line : child.lines()) {
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"((\d+) confirmed, (\d+) failed)")))
      out = {std::stoul(m[1]), std::stoul(m[2])};
  }
  return out;
}

int run_to_exit(std::vector<std::string> argv, std::chrono::seconds timeout) {
  ChildProcess child(std::move(argv));
  auto status = child.wait_exit(timeout);
  return status ? *status : -1;
}

std::size_t ready_in(const std::string& queue) {
  auto queues = list_queues();
  auto it = queues.find(queue);
  return it == queues.end() ? 0 : it->second.ready + it->second.unacked;
}

// Waits until `queue` holds `count` messages (confirmed means queued, but list_queues may lag).
std::size_t wait_queue_count(const std::string& queue, std::size_t count, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t held = ready_in(queue);
  while (held < count && Clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    held = ready_in(queue);
  }
  return held;
}

// Consumes `topic`.audit with herald listen until `expected` distinct message ids were seen.
ListenTally consume(const std::string& url, const std::string& exchange, const std::string& topic, std::size_t expected,
                    std::chrono::seconds timeout) {
  ChildProcess listen({cli_path(), "listen", "--url", url, "--exchange", exchange, "--topic", topic, "--priority",
                       "audit", "--timeout", "600"});
  ListenTally tally;
  std::size_t tallied = 0;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto lines = listen.lines();
    for (; tallied < lines.size(); ++tallied) tally.add(lines[tallied]);
    if (tally.message_ids.size() >= expected || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(500ms);  // late duplicates
  for (auto lines = listen.lines(); tallied < lines.size(); ++tallied) tally.add(lines[tallied]);
  listen.signal(SIGTERM);
  listen.wait_exit(20s);
  return tally;
}

std::set<long long> seqs_in(const OutboxContents& contents) {
  std::set<long long> seqs;
  for (const OutboxEntry& e : contents.entries) {
    const Notification n = decode(e.body);
    if (n.payload().IsObject() && n.payload().HasMember("seq")) seqs.insert(n.payload()["seq"].GetInt64());
  }
  return seqs;
}

// Issue 11's crash test: broker stopped; a herald send process writes 10,000 audit
// notifications into its outbox and is SIGKILLed; broker started; herald outbox drain delivers
// them; the queue is consumed and lost / duplicated counted.
TEST(OutboxCrash, BrokerStoppedSendKilled10000AllDeliveredByDrain) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  std::atomic<bool> app_stopped{false};
  Watchdog watchdog(240s, [&] {
    if (app_stopped) broker_ctl("start_app");
  });
  constexpr std::size_t kCount = 10'000;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("outbox-crash");
  const std::string queue = objects.queue(topic + ".audit");
  // Durable: RabbitMQ deletes transient queues, and what they hold, when it stops.
  const std::string url = broker_url("?amqp_durable_queues=true");
  TempDir warm_dir("outbox-warm");
  TempDir dir("outbox-crash");

  // Herald declares the exchange, the queue and the binding with one notification (counted below).
  ASSERT_EQ(run_to_exit(send_argv(url, exchange, topic, warm_dir.str(),
                                  {"--event-type", "outbox.warmup", "--payload", "{}", "--timeout", "30"}),
                        60s),
            0);
  ASSERT_EQ(broker_ctl("stop_app").status, 0);
  app_stopped = true;

  ChildProcess send(
      send_argv(url, exchange, topic, dir.str(),
                {"--event-type", "outbox.crash", "--payload", R"({"pad": ")" + std::string(200, 'p') + R"("})",
                 "--count", std::to_string(kCount), "--report-durable", "--timeout", "300"}));
  const auto deadline = Clock::now() + 60s;
  while (last_durable(send) < kCount && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  const std::uint64_t durable_at_kill = last_durable(send);
  send.signal(SIGKILL);
  send.wait_exit(10s);
  const OutboxContents found = read_outbox(dir.str());

  ASSERT_EQ(broker_ctl("start_app").status, 0);
  app_stopped = false;
  ASSERT_TRUE(wait_broker_up(60s));

  const auto drain_start = Clock::now();
  ChildProcess drain({cli_path(), "outbox", "drain", dir.str(), "--url", url, "--timeout", "120"});
  auto drain_status = drain.wait_exit(150s);
  const double drain_seconds = std::chrono::duration<double>(Clock::now() - drain_start).count();
  const auto [drained, drain_failed] = confirmed_failed(drain);
  const std::size_t held = wait_queue_count(queue, kCount + 1, 10s);
  const ListenTally tally = consume(url, exchange, topic, kCount + 1, 90s);
  const OutboxContents left = read_outbox(dir.str());

  const std::size_t unique = tally.message_ids.size() > 0 ? tally.message_ids.size() - 1 : 0;  // minus the warm-up
  const std::size_t lost = kCount > unique ? kCount - unique : 0;
  const std::size_t duplicates = held > kCount + 1 ? held - kCount - 1 : 0;
  std::cout << "[ outbox ] kill -9 with the broker stopped: notified " << kCount << ", durable at kill "
            << durable_at_kill << ", in the outbox after the kill " << found.entries.size() << "; drain exit "
            << (drain_status ? std::to_string(*drain_status) : "none") << ", " << drained << " confirmed, "
            << drain_failed << " failed in " << drain_seconds << " s; queue held " << held
            << " (with 1 warm-up); consumed unique " << unique << ", lost " << lost << ", duplicates " << duplicates
            << "; left in the outbox " << left.entries.size() << "\n";
  EXPECT_EQ(durable_at_kill, kCount);
  EXPECT_EQ(found.entries.size(), kCount);
  ASSERT_TRUE(drain_status.has_value());
  EXPECT_EQ(*drain_status, 0);
  EXPECT_EQ(drained, kCount);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(unique, kCount);
  EXPECT_TRUE(left.entries.empty());
}

// SIGKILL at a random moment while group commits run: every notification the process reported
// durable ("durable N": the first N) is in the outbox afterwards and reaches the broker.
TEST(OutboxCrash, KilledDuringGroupCommitKeepsEverythingReportedDurable) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  if (port_open(kDeadPort)) GTEST_SKIP() << "port " << kDeadPort << " is in use";
  Watchdog watchdog(180s);
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("outbox-gc");
  const std::string queue = objects.queue(topic + ".audit");
  TempDir dir("outbox-gc");
  const std::filesystem::path input = dir.path.string() + ".jsonl";
  {
    std::ofstream out(input);
    for (int i = 0; i < 100'000; ++i) out << R"({"payload": {"seq": )" << i << "}}\n";
  }
  std::mt19937 rng(std::random_device{}());
  const std::uint64_t kill_after = 2'000 + rng() % 20'000;
  std::string command = "exec";
  for (const std::string& arg : send_argv(dead_url(), exchange, topic, dir.str(),
                                          {"--event-type", "outbox.seq", "--stdin", "--outbox-commit-interval", "0.02",
                                           "--report-durable", "--timeout", "300"}))
    command += " '" + arg + "'";
  command += " < '" + input.string() + "'";
  ChildProcess send({"/bin/sh", "-c", command});
  const auto deadline = Clock::now() + 60s;
  while (last_durable(send) < kill_after && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20'000));  // somewhere inside a commit interval
  const std::uint64_t reported = last_durable(send);  // read before the kill: all of it was on disk
  send.signal(SIGKILL);
  send.wait_exit(10s);
  std::filesystem::remove(input);

  const OutboxContents found = read_outbox(dir.str());
  const std::set<long long> seqs = seqs_in(found);
  std::size_t missing = 0;
  for (std::uint64_t s = 0; s < reported; ++s) missing += seqs.count(static_cast<long long>(s)) ? 0 : 1;

  ChildProcess drain({cli_path(), "outbox", "drain", dir.str(), "--url", broker_url(), "--timeout", "120"});
  auto drain_status = drain.wait_exit(150s);
  const auto [drained, drain_failed] = confirmed_failed(drain);
  const std::size_t held = wait_queue_count(queue, found.entries.size(), 10s);
  std::cout << "[ outbox ] kill -9 during group commit (20 ms): reported durable " << reported
            << " before the kill, in the outbox " << found.entries.size() << " (damaged regions "
            << found.problems.size() << "), reported durable but missing " << missing << "; drain exit "
            << (drain_status ? std::to_string(*drain_status) : "none") << ", " << drained << " confirmed, "
            << drain_failed << " failed; queue holds " << held << "\n";
  EXPECT_GT(reported, 0u);
  EXPECT_EQ(missing, 0u);
  EXPECT_GE(found.entries.size(), reported);
  ASSERT_TRUE(drain_status.has_value());
  EXPECT_EQ(*drain_status, 0);
  EXPECT_EQ(drained, found.entries.size());
  EXPECT_EQ(held, found.entries.size());
}

// A full outbox: fail_new refuses (reported as failures by herald send), drop_oldest keeps the
// newest; both stay within max_bytes; the fail_new outbox then drains completely.
TEST(OutboxCrash, FullOutboxPolicyHoldsAndIsReported) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  if (port_open(kDeadPort)) GTEST_SKIP() << "port " << kDeadPort << " is in use";
  Watchdog watchdog(120s);
  constexpr std::size_t kCount = 3'000;
  constexpr std::uint64_t kMaxBytes = 256 << 10;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("outbox-full");
  const std::string queue = objects.queue(topic + ".audit");
  const std::string payload = R"({"pad": ")" + std::string(1000, 'p') + R"("})";
  std::map<std::string, std::pair<std::size_t, std::size_t>> kept_failed;
  std::map<std::string, std::uint64_t> bytes;
  TempDir fail_dir("outbox-full-fail");
  TempDir drop_dir("outbox-full-drop");
  for (const auto& [policy, dir] : {std::pair{"fail_new", &fail_dir}, std::pair{"drop_oldest", &drop_dir}}) {
    ChildProcess send(
        send_argv(dead_url(), exchange, topic, dir->str(),
                  {"--event-type", "outbox.full", "--payload", payload, "--count", std::to_string(kCount),
                   "--outbox-max-bytes", std::to_string(kMaxBytes), "--outbox-full-policy", policy, "--timeout", "1"}));
    auto status = send.wait_exit(60s);
    ASSERT_TRUE(status.has_value()) << policy;
    EXPECT_EQ(*status, 1) << policy << ": herald send must report the refused notifications";
    const OutboxContents contents = read_outbox(dir->str());
    kept_failed[policy] = {contents.entries.size(), confirmed_failed(send).second};
    bytes[policy] = contents.bytes;
    if (std::string(policy) == "drop_oldest" && !contents.entries.empty()) {
      // The newest survive: the last notification sent is in the outbox.
      const std::set<std::string> ids = [&] {
        std::set<std::string> s;
        for (const auto& e : contents.entries) s.insert(e.message_id);
        return s;
      }();
      EXPECT_EQ(ids.size(), contents.entries.size());
    }
  }
  ChildProcess drain({cli_path(), "outbox", "drain", fail_dir.str(), "--url", broker_url(), "--timeout", "60"});
  auto drain_status = drain.wait_exit(90s);
  const std::size_t held = wait_queue_count(queue, kept_failed["fail_new"].first, 10s);
  for (const auto& [policy, kf] : kept_failed)
    std::cout << "[ outbox ] full outbox, " << policy << ": " << kCount << " notified, " << kf.first
              << " kept in the outbox (" << bytes[policy] << " of max " << kMaxBytes << " bytes), " << kf.second
              << " reported failed\n";
  std::cout << "[ outbox ]   fail_new outbox drained: exit " << (drain_status ? std::to_string(*drain_status) : "none")
            << ", queue holds " << held << "\n";
  for (const auto& [policy, kf] : kept_failed) {
    EXPECT_GT(kf.first, 0u) << policy;
    EXPECT_LT(kf.first, kCount) << policy;
    EXPECT_EQ(kf.first + kf.second, kCount) << policy << ": every notification is either kept or reported failed";
    EXPECT_LE(bytes[policy], kMaxBytes) << policy;
  }
  ASSERT_TRUE(drain_status.has_value());
  EXPECT_EQ(*drain_status, 0);
  EXPECT_EQ(held, kept_failed["fail_new"].first);
}

// A damaged outbox (bytes overwritten in the middle, the last record torn): inspect and drain
// report it clearly, nothing crashes, and every intact entry is delivered.
TEST(OutboxCrash, DamagedOutboxFileGoodEntriesStillSent) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  if (port_open(kDeadPort)) GTEST_SKIP() << "port " << kDeadPort << " is in use";
  Watchdog watchdog(120s);
  constexpr std::size_t kCount = 1'000;
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string topic = unique_name("outbox-damaged");
  const std::string queue = objects.queue(topic + ".audit");
  TempDir dir("outbox-damaged");
  {
    ChildProcess send(send_argv(dead_url(), exchange, topic, dir.str(),
                                {"--event-type", "outbox.damaged", "--payload", R"({"k": "v"})", "--count",
                                 std::to_string(kCount), "--timeout", "1"}));
    ASSERT_TRUE(send.wait_exit(60s).has_value());
  }
  ASSERT_EQ(read_outbox(dir.str()).entries.size(), kCount);
  std::filesystem::path segment;
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    if (e.path().filename().string().rfind("seg-", 0) == 0) segment = e.path();
  ASSERT_FALSE(segment.empty());
  const auto size = std::filesystem::file_size(segment);
  {
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 3));
    file.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  std::filesystem::resize_file(segment, size - 7);

  const CommandResult inspect = run_command(cli_path() + " outbox inspect '" + dir.str() + "'");
  const OutboxContents intact = read_outbox(dir.str());
  ChildProcess drain({cli_path(), "outbox", "drain", dir.str(), "--url", broker_url(), "--timeout", "60"});
  auto drain_status = drain.wait_exit(90s);
  const auto [drained, drain_failed] = confirmed_failed(drain);
  const std::size_t held = wait_queue_count(queue, intact.entries.size(), 10s);
  std::cout << "[ outbox ] damaged outbox: " << kCount << " written, " << intact.entries.size() << " intact, "
            << intact.problems.size() << " damaged region(s); drain exit "
            << (drain_status ? std::to_string(*drain_status) : "none") << ", " << drained << " confirmed, "
            << drain_failed << " failed; queue holds " << held << "\n"
            << "[ outbox ]   inspect said:\n"
            << inspect.output;
  EXPECT_NE(inspect.output.find("damaged data skipped"), std::string::npos);
  EXPECT_EQ(inspect.status, 1) << "inspect exits 1 when it found damage";
  EXPECT_EQ(intact.problems.size(), 2u);
  EXPECT_GE(intact.entries.size(), kCount - 3);
  EXPECT_LT(intact.entries.size(), kCount);
  ASSERT_TRUE(drain_status.has_value());
  EXPECT_EQ(*drain_status, 0);
  EXPECT_EQ(drained, intact.entries.size());
  EXPECT_EQ(held, intact.entries.size());
}

}  // namespace
}  // namespace herald::test
