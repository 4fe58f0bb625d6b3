// Same filter, same verdict: every case of filter_cases.json is evaluated by oslo's
// NotificationFilter.match (through oslo_peer.py, no broker) and by herald::Filter::matches.
// The verdicts must be equal, except for the cases marked "difference" (documented in
// docs/wire-format.md), where both sides must give the verdicts the file states.
#include "tests/interop/oslo_support.hpp"

#include <herald/error.hpp>
#include <herald/filter.hpp>
#include <herald/notification.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace herald::interop {
namespace {

using namespace std::chrono_literals;

const char* const kCasesPath = HERALD_SOURCE_DIR "/tests/interop/filter_cases.json";

std::string field(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";  // null/absent → "" in Herald
  return {it->value.GetString(), it->value.GetStringLength()};
}

// "true" / "false" / "config_error" for Herald.
std::string herald_verdict(const rapidjson::Value& rule, const rapidjson::Value& n) {
  Filter filter;
  try {
    for (const auto& m : rule.GetObject()) {
      std::string name = m.name.GetString();
      if (name == "publisher_id") {
        filter.publisher_id(m.value.GetString());
      } else if (name == "event_type") {
        filter.event_type(m.value.GetString());
      } else {
        for (const auto& kv : m.value.GetObject()) {
          if (name == "context") filter.context(kv.name.GetString(), kv.value.GetString());
          if (name == "metadata") filter.metadata(kv.name.GetString(), kv.value.GetString());
          if (name == "payload") filter.payload(kv.name.GetString(), kv.value.GetString());
        }
      }
    }
  } catch (const ConfigError&) {
    return "config_error";
  }
  Notification notification;
  notification.publisher_id = field(n, "publisher_id");
  notification.event_type = field(n, "event_type");
  notification.message_id = field(n["metadata"], "message_id");
  notification.timestamp = field(n["metadata"], "timestamp");
  notification.set_context(n["context"]);
  notification.set_payload(n["payload"]);
  return filter.matches(notification) ? "true" : "false";
}

std::string oslo_verdict(const rapidjson::Value& v) {
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  std::string text = v.IsString() ? v.GetString() : to_json(v);
  return text.rfind("raise:", 0) == 0 ? "raise" : text;
}

std::string expected_text(const rapidjson::Value& v) {
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  return v.GetString();
}

TEST(FilterParity, OsloAndHeraldGiveTheSameVerdicts) {
  std::ifstream in(kCasesPath);
  ASSERT_TRUE(in) << kCasesPath;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto doc = parse_json(text);
  const auto& base = (*doc)["base"];
  const auto& cases = (*doc)["cases"];
  ASSERT_GE(cases.Size(), 30u);

  PythonPeer peer({"filter", "--cases", kCasesPath});
  ASSERT_EQ(peer.wait_exit(60s), 0);
  auto lines = peer.raw_lines();
  ASSERT_EQ(lines.size(), 1u);
  auto verdicts = parse_json(lines[0]);
  ASSERT_TRUE(verdicts->IsArray());
  ASSERT_EQ(verdicts->Size(), cases.Size());

  std::size_t same = 0, differences = 0, oslo_raises = 0;
  for (rapidjson::SizeType i = 0; i < cases.Size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE(c["name"].GetString());
    rapidjson::Document n;
    n.CopyFrom(base, n.GetAllocator());
    for (const auto& m : c["notification"].GetObject()) {
      rapidjson::Value value(m.value, n.GetAllocator());
      n[m.name.GetString()] = value;
    }
    std::string oslo = oslo_verdict((*verdicts)[i]["verdict"]);
    std::string herald = herald_verdict(c["filter"], n);
    std::string want_oslo = expected_text(c["expect"]["oslo"]);
    std::string want_herald = expected_text(c["expect"]["herald"]);
    EXPECT_EQ(oslo, want_oslo) << "oslo said " << to_json((*verdicts)[i]["verdict"]);
    EXPECT_EQ(herald, want_herald);
    bool documented = c.HasMember("difference");
    if (oslo == "raise") {
      ++oslo_raises;
      EXPECT_EQ(herald, "false") << "where oslo raises, Herald must not match";
    } else if (!documented) {
      EXPECT_EQ(herald, oslo) << "undocumented difference";
      ++same;
    } else {
      EXPECT_NE(herald, oslo) << "case marked as a difference agrees: drop the mark";
      ++differences;
    }
  }
  std::printf(
      "filter parity: %zu cases, %zu identical, %zu oslo raises (Herald: no match), %zu documented differences\n",
      static_cast<std::size_t>(cases.Size()), same, oslo_raises, differences);
}

}  // namespace
}  // namespace herald::interop
