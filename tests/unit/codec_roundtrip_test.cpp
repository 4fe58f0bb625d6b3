// Round-trip properties: decode(encode(n)) == n for random notifications, in both envelopes.

#include <herald/codec.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace herald {
namespace {

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Generator {
 public:
  explicit Generator(unsigned seed) : random_(seed) {}

  // Valid UTF-8 mixing control characters, quotes, backslashes, BMP and astral characters.
  std::string text() {
    std::string out;
    const int length = pick(0, 12);
    for (int i = 0; i < length; ++i) {
      switch (pick(0, 6)) {
        case 0:
          append_utf8(static_cast<char32_t>(pick(0, 0x1F)), out);
          break;  // controls incl. NUL
        case 1:
          out.push_back("\"\\/\x7f"[pick(0, 3)]);
          break;  // escapes and DEL
        case 2:
          append_utf8(static_cast<char32_t>(pick(0x80, 0x7FF)), out);
          break;  // 2-byte
        case 3: {
          char32_t cp = static_cast<char32_t>(pick(0x800, 0xFFFF));
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // surrogates are not characters
          append_utf8(cp, out);
          break;
        }
        case 4:
          append_utf8(static_cast<char32_t>(pick(0x10000, 0x10FFFF)), out);
          break;  // astral
        default:
          out.push_back(static_cast<char>(pick(0x20, 0x7E)));
          break;
      }
    }
    return out;
  }

  rapidjson::Value value(rapidjson::Document::AllocatorType& allocator, int depth) {
    const int kind = pick(0, depth > 4 ? 5 : 7);
    switch (kind) {
      case 0:
        return rapidjson::Value();
      case 1:
        return rapidjson::Value(pick(0, 1) == 1);
      case 2:
        return rapidjson::Value(static_cast<std::int64_t>(random_() >> 1) - (std::int64_t{1} << 62));
      case 3: {
        std::uniform_real_distribution<double> real(-1e20, 1e20);
        return rapidjson::Value(real(random_) / std::pow(10.0, pick(0, 30)));
      }
      case 4:
      case 5: {
        const std::string s = text();
        return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), allocator);
      }
      case 6: {
        rapidjson::Value array(rapidjson::kArrayType);
        for (int i = pick(0, 4); i > 0; --i) array.PushBack(value(allocator, depth + 1), allocator);
        return array;
      }
      default: {
        rapidjson::Value object(rapidjson::kObjectType);
        for (int i = pick(0, 4); i > 0; --i) {
          const std::string key = text() + std::to_string(i);  // distinct keys
          object.AddMember(rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), allocator),
                           value(allocator, depth + 1), allocator);
        }
        return object;
      }
    }
  }

  Notification notification() {
    Notification n;
    n.message_id = text();
    n.publisher_id = text();
    n.event_type = text();
    n.priority = kAllPriorities[static_cast<std::size_t>(pick(0, 6))];
    n.timestamp = pick(0, 1) ? "2024-02-29 23:59:59.999999" : "";
    n.unique_id = text();
    n.payload() = value(n.allocator(), 1);
    for (int i = pick(0, 4); i > 0; --i) {
      const std::string key = text() + std::to_string(i);
      n.context().AddMember(rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), n.allocator()),
                            value(n.allocator(), 1), n.allocator());
    }
    return n;
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  std::mt19937_64 random_;
};

void expect_round_trip(const Notification& n, EnvelopeVersion version) {
  const std::string body = encode(n, version);
  for (char c : body) ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "ensure_ascii output expected: " << body;
  const Notification back = decode(body);
  EXPECT_EQ(back.message_id, n.message_id);
  EXPECT_EQ(back.publisher_id, n.publisher_id);
  EXPECT_EQ(back.event_type, n.event_type);
  EXPECT_EQ(back.priority, n.priority);
  EXPECT_EQ(back.timestamp, n.timestamp);
  EXPECT_EQ(back.unique_id, n.unique_id);
  EXPECT_EQ(back.payload(), n.payload()) << body;
  EXPECT_EQ(back.context(), n.context()) << body;
  EXPECT_EQ(encode(back, version), body);  // stable: the second encoding is identical
}

TEST(CodecRoundTrip, RandomNotificationsV1AndV2) {
  Generator generator(20240101);
  for (int i = 0; i < 2000; ++i) {
    const Notification n = generator.notification();
    expect_round_trip(n, EnvelopeVersion::v1);
    expect_round_trip(n, EnvelopeVersion::v2);
    if (HasFailure()) break;
  }
}

TEST(CodecRoundTrip, EveryControlCharacterAndAstralBoundary) {
  Notification n;
  std::string all;
  for (char32_t cp = 0; cp < 0x80; ++cp) append_utf8(cp, all);
  for (char32_t cp : {0x80u, 0x7FFu, 0x800u, 0xFFFDu, 0xFFFFu, 0x10000u, 0x1F600u, 0x10FFFFu}) append_utf8(cp, all);
  n.event_type = all;
  n.payload().SetString(all.data(), static_cast<rapidjson::SizeType>(all.size()), n.allocator());
  n.context().AddMember(rapidjson::Value(all.data(), static_cast<rapidjson::SizeType>(all.size()), n.allocator()),
                        rapidjson::Value(1), n.allocator());
  expect_round_trip(n, EnvelopeVersion::v1);
  expect_round_trip(n, EnvelopeVersion::v2);
}

TEST(CodecRoundTrip, ExtremeNumbers) {
  Notification n;
  n.set_payload_json(
      "[9223372036854775807, -9223372036854775808, 18446744073709551615, 5e-324, 1.7976931348623157e308, "
      "0.1, -0.0, 1e16, 123456.789e-30]");
  expect_round_trip(n, EnvelopeVersion::v2);
}

}  // namespace
}  // namespace herald
