// Notification: defaults, value semantics, JSON setters.

#include <herald/error.hpp>
#include <herald/notification.hpp>

#include <gtest/gtest.h>

#include <utility>

namespace herald {
namespace {

TEST(Notification, Defaults) {
  const Notification n;
  EXPECT_EQ(n.priority, Priority::info);
  EXPECT_TRUE(n.message_id.empty());
  EXPECT_TRUE(n.publisher_id.empty());
  EXPECT_TRUE(n.event_type.empty());
  EXPECT_TRUE(n.timestamp.empty());
  EXPECT_TRUE(n.unique_id.empty());
  EXPECT_EQ(n.payload_json(), "{}");
  EXPECT_EQ(n.context_json(), "{}");
}

TEST(Notification, CopyIsDeepAndOutlivesTheSource) {
  Notification copy;
  {
    Notification source;
    source.event_type = "e";
    source.set_payload_json(R"({"a": [1, "a long string that is not stored inline"]})");
    source.set_context_json(R"({"user": "u"})");
    copy = source;
    source.payload()["a"][0].SetInt(2);
  }
  EXPECT_EQ(copy.event_type, "e");
  EXPECT_EQ(copy.payload_json(), R"({"a":[1,"a long string that is not stored inline"]})");
  EXPECT_EQ(copy.context_json(), R"({"user":"u"})");
  const Notification copy2(copy);
  EXPECT_EQ(copy2.payload(), copy.payload());
}

TEST(Notification, MoveKeepsValues) {
  Notification source;
  source.set_payload_json("[1, 2]");
  Notification moved(std::move(source));
  EXPECT_EQ(moved.payload_json(), "[1,2]");
  Notification assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.payload_json(), "[1,2]");
}

TEST(Notification, PayloadMayBeAnyJson) {
  Notification n;
  for (const char* json : {"null", "5", "\"s\"", "[1]", "true", "1.5"}) {
    n.set_payload_json(json);
    EXPECT_EQ(n.payload_json(), json);
  }
}

TEST(Notification, BadJsonIsDecodeError) {
  Notification n;
  EXPECT_THROW(n.set_payload_json("{"), DecodeError);
  EXPECT_THROW(n.set_payload_json(""), DecodeError);
  EXPECT_THROW(n.set_context_json("[]"), DecodeError);
  EXPECT_THROW(n.set_context_json("{\"a\": }"), DecodeError);
  EXPECT_EQ(n.context_json(), "{}");  // unchanged
}

TEST(Notification, SetContextRequiresObject) {
  Notification n;
  rapidjson::Value array(rapidjson::kArrayType);
  try {
    n.set_context(array);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
  }
}

TEST(Notification, SetFromValuesCopies) {
  rapidjson::Document other;
  other.Parse(R"({"p": {"x": 1}, "c": {"k": "v"}})");
  Notification n;
  n.set_payload(other["p"]);
  n.set_context(other["c"]);
  other["p"]["x"].SetInt(9);
  EXPECT_EQ(n.payload_json(), R"({"x":1})");
  EXPECT_EQ(n.context_json(), R"({"k":"v"})");
}

TEST(Notification, BuildWithAllocator) {
  Notification n;
  n.payload().AddMember("id", 7, n.allocator());
  n.context().AddMember("user", rapidjson::Value("bob", n.allocator()), n.allocator());
  EXPECT_EQ(n.payload_json(), R"({"id":7})");
  EXPECT_EQ(n.context_json(), R"({"user":"bob"})");
}

}  // namespace
}  // namespace herald
