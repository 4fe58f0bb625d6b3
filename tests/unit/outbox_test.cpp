// The outbox over a fake driver (which confirms only when told), and a Notifier with an outbox
// on memory://: replay after a restart, the lock, the full policies, damaged files, durability.
#include "notifier/outbox.hpp"

#include "test_support.hpp"

#include <herald/herald.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace herald::detail {
namespace {

using namespace std::chrono_literals;
using test::eventually;

// Holds every send until the test settles it.
class FakeDriver final : public TransportDriver {
 public:
  void send(OutgoingMessage message, SendCallback done) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(message));
    callbacks_.push_back(std::move(done));
  }
  std::unique_ptr<Listener> listen(const ListenSpec&) override { return nullptr; }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return sent_.size();
  }
  std::vector<OutgoingMessage> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  /// Settles sends [from, to) with `error`.
  void settle(std::size_t from, std::size_t to, std::error_code error = {}) {
    std::vector<SendCallback> callbacks;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = from; i < to && i < callbacks_.size(); ++i) callbacks.push_back(std::move(callbacks_[i]));
    }
    for (auto& cb : callbacks)
      if (cb) cb(error, error ? "fake" : "");
  }

 private:
  mutable std::mutex mutex_;
  std::vector<OutgoingMessage> sent_;
  std::vector<SendCallback> callbacks_;
};

struct Outcomes {
  std::mutex mutex;
  std::vector<std::string> confirmed;
  std::vector<std::pair<std::string, std::error_code>> failed;
  Outbox::OutcomeHandler handler() {
    return [this](const OutboxOutcome& o) {
      std::lock_guard lock(mutex);
      if (o.error)
        failed.emplace_back(std::string(o.message_id), o.error);
      else
        confirmed.emplace_back(o.message_id);
    };
  }
  std::size_t failures() {
    std::lock_guard lock(mutex);
    return failed.size();
  }
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("herald-outbox-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  OutboxOptions options() const {
    OutboxOptions o;
    o.directory = dir_.string();
    o.commit_interval = 2ms;
    return o;
  }
  std::shared_ptr<Outbox> open(FakeDriver& driver, Outcomes& outcomes, OutboxOptions o,
                               std::chrono::milliseconds send_timeout = 1s) {
    auto outbox = Outbox::open(o, driver, send_timeout, log_.logger, nullptr, outcomes.handler());
    outbox->start();
    return outbox;
  }
  static OutgoingMessage message(int i, std::size_t pad = 100) {
    return OutgoingMessage{"openstack", "notifications.audit",
                           R"({"seq": )" + std::to_string(i) + R"(, "pad": ")" + std::string(pad, 'p') + "\"}",
                           "msg-" + std::to_string(i), -1};
  }
  std::string append(Outbox& outbox, int i, std::size_t pad = 100) {
    std::string reason;
    const std::error_code ec = outbox.append(message(i, pad), Priority::audit, "audit.test", reason);
    return ec ? ec.message() + ": " + reason : "";
  }

  std::filesystem::path dir_;
  test::CapturedLog log_;
};

TEST_F(OutboxTest, UnconfirmedEntriesAreSentAgainWithTheSameIdsAfterARestart) {
  {
    FakeDriver driver;
    Outcomes outcomes;
    auto outbox = open(driver, outcomes, options());
    for (int i = 0; i < 10; ++i) ASSERT_EQ(append(*outbox, i), "");
    ASSERT_TRUE(eventually([&] { return driver.count() == 10; }));
    driver.settle(0, 4);  // 4 confirmed, 6 never
    ASSERT_TRUE(eventually([&] { return outbox->stats().depth == 6; }));
    EXPECT_EQ(outbox->stats().confirmed, 4u);
    outbox->stop();
  }
  FakeDriver driver;
  Outcomes outcomes;
  auto outbox = open(driver, outcomes, options());
  EXPECT_EQ(outbox->stats().replayed, 6u);
  ASSERT_TRUE(eventually([&] { return driver.count() == 6; }));
  const auto sent = driver.sent();
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].message_id, "msg-" + std::to_string(i + 4));
    EXPECT_NE(sent[i].body.find(R"("seq": )" + std::to_string(i + 4)), std::string::npos);
    EXPECT_EQ(sent[i].routing_key, "notifications.audit");
  }
  driver.settle(0, 6);
  ASSERT_TRUE(eventually([&] { return outbox->stats().depth == 0; }));
  outbox->stop();
  EXPECT_TRUE(read_outbox(dir_.string()).entries.empty());
}

TEST_F(OutboxTest, ASecondOutboxOnTheSameDirectoryIsRefusedClearly) {
  FakeDriver driver;
  Outcomes outcomes;
  auto first = open(driver, outcomes, options());
  try {
    auto second = Outbox::open(options(), driver, 1s, log_.logger, nullptr, outcomes.handler());
    FAIL() << "a second outbox opened the locked directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_config);
    EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos) << e.what();
  }
  first->stop();
  EXPECT_NO_THROW(Outbox::open(options(), driver, 1s, log_.logger, nullptr, outcomes.handler())->stop());
}

TEST_F(OutboxTest, PerMessageDurabilityMeansOnDiskWhenAppendReturns) {
  FakeDriver driver;
  Outcomes outcomes;
  OutboxOptions o = options();
  o.durability = OutboxDurability::per_message;
  o.commit_interval = 10s;  // only per-message commits can make these durable
  auto outbox = open(driver, outcomes, o);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(append(*outbox, i), "");
    EXPECT_EQ(outbox->stats().durable, static_cast<std::uint64_t>(i + 1));
    // Read by another reader: the record is in the file.
    EXPECT_EQ(read_outbox(dir_.string()).entries.size(), static_cast<std::size_t>(i + 1));
  }
  outbox->stop();
}

TEST_F(OutboxTest, GroupCommitSendsNothingBeforeItIsOnDisk) {
  FakeDriver driver;
  Outcomes outcomes;
  OutboxOptions o = options();
  o.commit_interval = 300ms;
  auto outbox = open(driver, outcomes, o);
  std::this_thread::sleep_for(350ms);  // the first commit has passed; the next is 300 ms away
  ASSERT_EQ(append(*outbox, 1), "");
  EXPECT_EQ(outbox->stats().durable, 0u);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(driver.count(), 0u) << "sent before the group commit wrote it";
  ASSERT_TRUE(eventually([&] { return outbox->stats().durable == 1; }, 2s));
  ASSERT_TRUE(eventually([&] { return driver.count() == 1; }, 2s));
  EXPECT_EQ(read_outbox(dir_.string()).entries.size(), 1u);
  outbox->stop();
}

TEST_F(OutboxTest, FailNewRefusesWhenFullAndCountsIt) {
  FakeDriver driver;
  Outcomes outcomes;
  OutboxOptions o = options();
  o.max_bytes = 64 << 10;
  o.full_policy = OutboxFullPolicy::fail_new;
  auto outbox = open(driver, outcomes, o);
  int accepted = 0;
  std::string refusal;
  for (int i = 0; i < 200 && refusal.empty(); ++i) {
    refusal = append(*outbox, i, 1000);
    if (refusal.empty()) ++accepted;
  }
  EXPECT_NE(refusal.find("outbox full"), std::string::npos) << refusal;
  EXPECT_GT(accepted, 40);
  EXPECT_LT(accepted, 66);
  const OutboxStats stats = outbox->stats();
  EXPECT_EQ(stats.refused_full, 1u);
  EXPECT_LE(stats.bytes, o.max_bytes);
  EXPECT_EQ(stats.depth, static_cast<std::uint64_t>(accepted));
  // Confirming frees whole segments, and new notifications fit again.
  ASSERT_TRUE(eventually([&] { return driver.count() == static_cast<std::size_t>(accepted); }));
  driver.settle(0, static_cast<std::size_t>(accepted));
  ASSERT_TRUE(eventually([&] { return append(*outbox, 1000, 1000).empty(); }));
  outbox->stop();
}

TEST_F(OutboxTest, DropOldestKeepsTheNewestAndReportsEveryDroppedOne) {
  FakeDriver driver;
  Outcomes outcomes;
  OutboxOptions o = options();
  o.max_bytes = 64 << 10;
  o.full_policy = OutboxFullPolicy::drop_oldest;
  auto outbox = open(driver, outcomes, o);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(append(*outbox, i, 1000), "");
  const OutboxStats stats = outbox->stats();
  EXPECT_GT(stats.dropped, 0u);
  EXPECT_EQ(stats.dropped + stats.depth, 300u);
  EXPECT_LE(stats.bytes, o.max_bytes);
  EXPECT_EQ(outcomes.failures(), stats.dropped);
  outbox->stop();
  const OutboxContents contents = read_outbox(dir_.string());
  ASSERT_EQ(contents.entries.size(), stats.depth);
  EXPECT_EQ(contents.entries.back().message_id, "msg-299");
  EXPECT_NE(contents.entries.front().message_id, "msg-0");
}

TEST_F(OutboxTest, BlockWaitsForRoomThenFails) {
  FakeDriver driver;
  Outcomes outcomes;
  OutboxOptions o = options();
  o.max_bytes = 64 << 10;
  o.full_policy = OutboxFullPolicy::block;
  auto outbox = open(driver, outcomes, o, 200ms);
  std::string refusal;
  int accepted = 0;
  for (int i = 0; i < 200 && refusal.empty(); ++i)
    if ((refusal = append(*outbox, i, 1000)).empty()) ++accepted;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NE(append(*outbox, 999, 1000), "");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  // A confirmation while a caller blocks lets it in.
  std::thread confirm([&] {
    std::this_thread::sleep_for(50ms);
    driver.settle(0, static_cast<std::size_t>(accepted));
  });
  const std::string late = append(*outbox, 1001, 1000);
  confirm.join();
  EXPECT_EQ(late, "") << "a confirmation freed room but the blocked append failed";
  outbox->stop();
}

TEST_F(OutboxTest, DamagedFileIsReportedAndTheGoodEntriesAreSent) {
  {
    FakeDriver driver;
    Outcomes outcomes;
    auto outbox = open(driver, outcomes, options());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(append(*outbox, i), "");
    outbox->stop();
  }
  const auto segment = segment_path(dir_.string(), 1);
  const auto size = std::filesystem::file_size(segment);
  {
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 2));
    file.write("garbage!", 8);
  }
  std::filesystem::resize_file(segment, size - 10);  // a torn last record
  FakeDriver driver;
  Outcomes outcomes;
  auto outbox = open(driver, outcomes, options());
  const OutboxStats stats = outbox->stats();
  EXPECT_EQ(stats.corrupt_records, 2u);
  EXPECT_EQ(stats.replayed, 18u);
  EXPECT_NE(log_.text().find("damaged data skipped"), std::string::npos) << log_.text();
  ASSERT_TRUE(eventually([&] { return driver.count() == 18; }));
  driver.settle(0, 18);
  ASSERT_TRUE(eventually([&] { return outbox->stats().depth == 0; }));
  outbox->stop();
}

TEST_F(OutboxTest, TransientFailuresAreRetriedDefinitiveOnesReported) {
  FakeDriver driver;
  Outcomes outcomes;
  auto outbox = open(driver, outcomes, options());
  ASSERT_EQ(append(*outbox, 1), "");
  ASSERT_EQ(append(*outbox, 2), "");
  ASSERT_TRUE(eventually([&] { return driver.count() == 2; }));
  driver.settle(0, 1, make_error_code(Errc::overflow));  // the transport's buffer was full
  driver.settle(1, 2, make_error_code(Errc::rejected));  // the broker refused it
  ASSERT_TRUE(eventually([&] { return driver.count() == 3; }));
  EXPECT_EQ(driver.sent()[2].message_id, "msg-1");
  ASSERT_EQ(outcomes.failures(), 1u);
  EXPECT_EQ(outcomes.failed[0].first, "msg-2");
  driver.settle(2, 3);
  ASSERT_TRUE(eventually([&] { return outbox->stats().depth == 0; }));
  EXPECT_EQ(outbox->stats().failed, 1u);
  EXPECT_EQ(outbox->stats().confirmed, 1u);
  outbox->stop();
}

}  // namespace
}  // namespace herald::detail

namespace herald {
namespace {

TEST(NotifierOutbox, OneOptionTurnsItOnAndFlushSeesEverythingConfirmed) {
  const auto dir = std::filesystem::temp_directory_path() / ("herald-notifier-outbox-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto metrics = Metrics::create();
  auto transport = Transport::open("memory://", {.metrics = metrics});
  NotifierOptions options;
  options.publisher_id = "test";
  options.outbox.directory = dir.string();
  {
    Notifier notifier(transport, options);
    for (int i = 0; i < 1000; ++i) notifier.audit("{}", "audit.test", R"({"i": 1})");
    const FlushResult flushed = notifier.flush(std::chrono::seconds(10));
    EXPECT_TRUE(flushed.ok());
    EXPECT_EQ(notifier.stats().confirmed, 1000u);
    ASSERT_TRUE(notifier.outbox_stats());
    EXPECT_EQ(notifier.outbox_stats()->depth, 0u);
    EXPECT_EQ(notifier.outbox_stats()->appended, 1000u);
    EXPECT_NE(metrics->serialize().find("herald_outbox_depth"), std::string::npos);
  }
  EXPECT_TRUE(read_outbox(dir.string()).entries.empty());
  std::filesystem::remove_all(dir);
}

TEST(NotifierOutbox, DestroyingTheLastNotifierClosesItsOutboxBeforeReturning) {
  // The pump holds the notifier's internals while it reports an outcome. When the last
  // Notifier went away meanwhile, its outbox used to be closed later, on the pump's thread: a
  // new Notifier on the same directory right after found it locked ("in use by another
  // process"), and a reader found files the closing outbox was still changing.
  const auto dir =
      std::filesystem::temp_directory_path() / ("herald-notifier-outbox-close-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto transport = Transport::open("memory://");
  NotifierOptions options;
  options.publisher_id = "test";
  options.outbox.directory = dir.string();
  options.outbox.commit_interval = std::chrono::milliseconds(1);
  for (int round = 0; round < 20; ++round) {
    {
      Notifier notifier(transport, options);
      for (int i = 0; i < 2000; ++i) notifier.audit("{}", "audit.test", R"({"i": 1})");
      // Destroyed while the pump is busy reporting confirmations.
      ASSERT_TRUE(test::eventually([&] { return notifier.stats().confirmed > 0; }, std::chrono::seconds(10)));
    }
    try {
      Notifier next(transport, options);
    } catch (const Error& e) {
      FAIL() << "round " << round << ": " << e.what();
    }
  }
  {
    Notifier notifier(transport, options);
    EXPECT_TRUE(notifier.flush(std::chrono::seconds(10)).ok());
  }
  EXPECT_TRUE(read_outbox(dir.string()).entries.empty());
  std::filesystem::remove_all(dir);
}

TEST(NotifierOutbox, ConfigOptionFillsNotifierOptions) {
  ConfigSources sources;
  sources.overrides = {{"herald", "outbox_dir", "/tmp/x", "--outbox"},
                       {"herald", "outbox_commit_interval", "0", ""},
                       {"herald", "outbox_full_policy", "drop_oldest", ""}};
  const Config config = Config::load(sources);
  const NotifierOptions options = config.notifier_options();
  EXPECT_EQ(options.outbox.directory, "/tmp/x");
  EXPECT_EQ(options.outbox.durability, OutboxDurability::per_message);
  EXPECT_EQ(options.outbox.full_policy, OutboxFullPolicy::drop_oldest);
  EXPECT_EQ(config.transport_url.find("outbox"), std::string::npos) << "outbox options are not URL options";
  sources.overrides = {{"herald", "outbox_full_policy", "sometimes", "--outbox-full-policy"}};
  EXPECT_THROW(Config::load(sources), ConfigError);
}

}  // namespace
}  // namespace herald
