// Notifier through the public API on memory:// and with the test driver.
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

using namespace herald;

namespace {

NotifierOptions test_options(std::string publisher = "compute.host1") {
  NotifierOptions options;
  options.publisher_id = std::move(publisher);
  options.drivers = {"test"};
  return options;
}

TEST(Notifier, EachPriorityMethodSendsItsPriority) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, test_options());
  const rapidjson::Value ctx(rapidjson::kObjectType);
  const rapidjson::Value payload(rapidjson::kObjectType);
  notifier.audit(ctx, "e", payload);
  notifier.debug(ctx, "e", payload);
  notifier.info(ctx, "e", payload);
  notifier.warn(ctx, "e", payload);
  notifier.warning(ctx, "e", payload);
  notifier.error(ctx, "e", payload);
  notifier.critical(ctx, "e", payload);
  notifier.sample(ctx, "e", payload);
  auto got = notifier.capture()->notifications();
  ASSERT_EQ(got.size(), 8u);
  const Priority expected[] = {Priority::audit, Priority::debug, Priority::info,     Priority::warn,
                               Priority::warn,  Priority::error, Priority::critical, Priority::sample};
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].priority, expected[i]) << i;
}

TEST(Notifier, FillsIdsTimestampAndPublisher) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, test_options());
  notifier.info(R"({"request_id": "req-1"})", "compute.instance.create.end", R"({"instance_id": "42"})");
  notifier.info("{}", "e", "{}");
  auto got = notifier.capture()->notifications();
  ASSERT_EQ(got.size(), 2u);
  const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  EXPECT_TRUE(std::regex_match(got[0].message_id, uuid)) << got[0].message_id;
  EXPECT_NE(got[0].message_id, got[1].message_id);
  EXPECT_TRUE(std::regex_match(got[0].timestamp, std::regex(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$)")));
  EXPECT_EQ(got[0].publisher_id, "compute.host1");
  EXPECT_EQ(got[0].event_type, "compute.instance.create.end");
  EXPECT_EQ(got[0].payload_json(), R"({"instance_id":"42"})");
  EXPECT_EQ(got[0].context_json(), R"({"request_id":"req-1"})");
}

TEST(Notifier, SanitizesContextLikeOslo14ByDefault) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, test_options());
  notifier.info(R"({"user_id": "u2", "auth_token": "SECRET", "foo": "bar", "roles": ["admin"]})", "e", "{}");
  EXPECT_EQ(notifier.capture()->notifications()[0].context_json(), R"({"user_id":"u2","roles":["admin"]})");

  NotifierOptions raw = test_options();
  raw.sanitize_context = false;
  Notifier unsanitized(transport, raw);
  unsanitized.info(R"({"foo": "bar"})", "e", "{}");
  EXPECT_EQ(unsanitized.capture()->notifications()[0].context_json(), R"({"foo":"bar"})");
}

TEST(Notifier, PrepareSharesDriversAndCountersWithOtherPublisher) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, test_options("a"));
  Notifier b = notifier.prepare({.publisher_id = "b", .retry = 3});
  Notifier a_again = notifier.prepare({});
  b.info("{}", "e", "{}");
  a_again.info("{}", "e", "{}");
  auto got = notifier.capture()->notifications();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].publisher_id, "b");
  EXPECT_EQ(got[1].publisher_id, "a");
  EXPECT_EQ(b.retry(), 3);
  EXPECT_EQ(a_again.retry(), -1);
  EXPECT_EQ(notifier.stats().notified, 2u);
}

TEST(Notifier, IsEnabledIsFalseOnlyForNoop) {
  auto transport = Transport::open("memory://");
  EXPECT_FALSE(Notifier(transport, {.drivers = {"noop"}}).is_enabled());
  EXPECT_FALSE(Notifier(transport, {.drivers = {"noop", "noop"}}).is_enabled());
  EXPECT_TRUE(Notifier(transport, {.drivers = {"noop", "log"}}).is_enabled());
  EXPECT_TRUE(Notifier(transport, {}).is_enabled());
}

TEST(Notifier, BadConfigFailsFastNamingTheField) {
  auto transport = Transport::open("memory://");
  auto message_of = [&](NotifierOptions options) {
    try {
      Notifier n(transport, std::move(options));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of({.topics = {}}).find("topics"), std::string::npos);
  EXPECT_NE(message_of({.topics = {""}}).find("topics"), std::string::npos);
  EXPECT_NE(message_of({.drivers = {"kafka"}}).find("driver"), std::string::npos);
  EXPECT_NE(message_of({.drivers = {}}).find("driver"), std::string::npos);
  EXPECT_NE(message_of({.retry = -2}).find("retry"), std::string::npos);
  EXPECT_NE(message_of({.drivers = {"routing"}}).find("routing_config"), std::string::npos);
  EXPECT_THROW(Notifier(nullptr, {}), ConfigError);
}

TEST(Notifier, CallerBugsThrowInvalidArgumentNotTransportErrors) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, {});
  EXPECT_THROW(notifier.info("{}", "e", "{not json"), Error);
  EXPECT_THROW(notifier.info("[1]", "e", "{}"), Error);
  rapidjson::Value not_object(5);
  EXPECT_THROW(notifier.info(not_object, "e", rapidjson::Value(1)), Error);
}

TEST(Notifier, TransportFailuresNeverThrowAndReachCallbackCountersAndFlush) {
  auto transport = Transport::open("memory://?max_depth=1&overflow=reject");
  std::atomic<int> callbacks{0};
  Notifier notifier(transport, {.on_error = [&](const SendFailure& f) {
                      EXPECT_EQ(f.error, make_error_code(Errc::overflow));
                      EXPECT_EQ(f.event_type, "e");
                      callbacks.fetch_add(1);
                    }});
  EXPECT_NO_THROW(notifier.info("{}", "e", "{}"));
  EXPECT_NO_THROW(notifier.info("{}", "e", "{}"));
  FlushResult first = notifier.flush(std::chrono::seconds(1));
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(first.failed, 1u);
  EXPECT_EQ(callbacks.load(), 1);
  EXPECT_EQ(notifier.stats().failed, 1u);
  // flush() reports failures since the previous flush().
  EXPECT_TRUE(notifier.flush(std::chrono::seconds(1)).ok());
}

TEST(Notifier, AThrowingErrorCallbackIsContained) {
  auto transport_full = Transport::open("memory://?max_depth=1&overflow=reject");
  test::CapturedLog log;
  Notifier notifier(transport_full,
                    {.on_error = [](const SendFailure&) { throw std::runtime_error("boom"); }, .logger = log.logger});
  notifier.info("{}", "e", "{}");
  EXPECT_NO_THROW(notifier.info("{}", "e", "{}"));
  EXPECT_NE(log.text().find("on_error callback threw"), std::string::npos);
}

TEST(Notifier, FailureLogNeverContainsThePayload) {
  auto transport = Transport::open("memory://?max_depth=1&overflow=reject");
  test::CapturedLog log;
  Notifier notifier(transport, {.logger = log.logger});
  notifier.info("{}", "e", R"({"password": "hunter2"})");
  notifier.info("{}", "e", R"({"password": "hunter2"})");
  notifier.flush(std::chrono::seconds(1));
  EXPECT_NE(log.text().find("failed"), std::string::npos);
  EXPECT_EQ(log.text().find("hunter2"), std::string::npos);
}

TEST(Notifier, ConcurrentUseFromManyThreadsCountsEverything) {
  auto transport = Transport::open("memory://?max_depth=0");
  Notifier notifier(transport, {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Notifier mine = notifier.prepare({.publisher_id = "p" + std::to_string(t)});
      for (int i = 0; i < 2000; ++i) mine.info("{}", "e", "{}");
    });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(notifier.flush(std::chrono::seconds(5)).ok());
  EXPECT_EQ(notifier.stats().confirmed, 8000u);
}

}  // namespace

// Every JSON text input follows decode()'s rules (issue 12 item 3): what one Herald accepts from
// a caller, another (or oslo) decodes, and the other way round.
TEST(JsonTextInputs, PayloadJsonTextNotifyAndDecodeAcceptAndRejectTheSameTexts) {
  auto transport = Transport::open("memory://");
  Notifier notifier(transport, test_options());
  auto through_decode = [](const std::string& payload) {
    return decode(R"({"priority": "INFO", "event_type": "e", "payload": )" + payload + "}");
  };
  // Python's json.dumps writes NaN and Infinity; oslo sends them, so Herald takes them anywhere.
  const std::string special = R"({"x": NaN, "y": -Infinity, "z": Infinity})";
  Notification n;
  EXPECT_NO_THROW(n.set_payload_json(special));
  EXPECT_TRUE(std::isnan(n.payload()["x"].GetDouble()));
  EXPECT_NO_THROW(notifier.info("{}", "e", special));
  EXPECT_TRUE(std::isinf(through_decode(special).payload()["y"].GetDouble()));

  // Nesting past the limit, trailing data, an embedded NUL: refused by each, at the input.
  const std::string deep = std::string(600, '[') + std::string(600, ']');
  const std::string nul_inside = std::string("{}\0{}", 5);
  for (const std::string& bad : {deep, std::string(R"({"a": 1} {"b": 2})"), nul_inside}) {
    Notification m;
    EXPECT_THROW(m.set_payload_json(bad), DecodeError) << bad.substr(0, 20);
    try {
      notifier.info("{}", "e", bad);
      ADD_FAILURE() << "notify accepted " << bad.substr(0, 20);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(Errc::invalid_argument));
    }
    EXPECT_THROW(through_decode(bad), DecodeError) << bad.substr(0, 20);
  }

  // Numbers at full precision: the same double as strtod for each, by every path.
  const char* numbers[] = {"0.1", "2.2250738585072011e-308", "1.7976931348623157e308", "4.9406564584124654e-324",
                           "9007199254740993.0", "0.30000000000000004", "123456789012345678901234567890e-10",
                           "1.00000000000000011102230246251565404236316680908203125",
                           "7.3177701707893310e+15", "2.4703282292062328e-324"};
  for (const char* text : numbers) {
    const double expected = std::strtod(text, nullptr);
    Notification m;
    m.set_payload_json(std::string("[") + text + "]");
    EXPECT_EQ(m.payload()[0].GetDouble(), expected) << text << " set_payload_json";
    EXPECT_EQ(through_decode(std::string("[") + text + "]").payload()[0].GetDouble(), expected) << text << " decode";
    EXPECT_EQ(parse_json(text, "number").GetDouble(), expected) << text << " parse_json";
  }
  const std::size_t before = notifier.capture()->notifications().size();
  notifier.info("{}", "e", "[2.2250738585072011e-308]");
  const auto got = notifier.capture()->notifications();
  ASSERT_EQ(got.size(), before + 1);
  EXPECT_EQ(got.back().payload()[0].GetDouble(), std::strtod("2.2250738585072011e-308", nullptr));
}
