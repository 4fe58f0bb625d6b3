// encode(): Python json.dumps formatting and oslo's key order.

#include "core/python_json.hpp"

#include <herald/codec.hpp>
#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace herald {
namespace {

Notification sample() {
  Notification n;
  n.message_id = "11111111-2222-4333-8444-555555555555";
  n.publisher_id = "compute.host1";
  n.event_type = "compute.instance.create.end";
  n.priority = Priority::warn;
  n.timestamp = "2024-01-01 00:00:00.000000";
  n.unique_id = "0123456789abcdef0123456789abcdef";
  n.set_payload_json(R"({"a": 1, "b": [true, false, null]})");
  n.set_context_json(R"({"user": "u1", "roles": ["admin"]})");
  return n;
}

std::string python_float(double value) {
  std::string out;
  detail::append_python_float(value, out);
  return out;
}

// The v1 body of a notification whose payload is the given JSON text, minus the fixed fields.
std::string payload_as_python(const std::string& payload_json) {
  Notification n;
  n.set_payload_json(payload_json);
  const std::string body = encode(n, EnvelopeVersion::v1);
  const std::string prefix = R"({"publisher_id": null, "event_type": "", "priority": "INFO", "payload": )";
  EXPECT_EQ(body.substr(0, prefix.size()), prefix);
  return body.substr(prefix.size(), body.size() - prefix.size() - 1);
}

std::string string_as_python(const std::string& utf8) {
  Notification n;
  n.payload().SetString(utf8.data(), static_cast<rapidjson::SizeType>(utf8.size()), n.allocator());
  const std::string body = encode(n, EnvelopeVersion::v1);
  const std::string prefix = R"({"publisher_id": null, "event_type": "", "priority": "INFO", "payload": )";
  return body.substr(prefix.size(), body.size() - prefix.size() - 1);
}

TEST(CodecEncode, V1KeyOrderAndSeparators) {
  EXPECT_EQ(encode(sample(), EnvelopeVersion::v1),
            R"({"message_id": "11111111-2222-4333-8444-555555555555", "publisher_id": "compute.host1", )"
            R"("event_type": "compute.instance.create.end", "priority": "WARN", "payload": {"a": 1, "b": [true, )"
            R"(false, null]}, "timestamp": "2024-01-01 00:00:00.000000", "_unique_id": )"
            R"("0123456789abcdef0123456789abcdef", "_context_user": "u1", "_context_roles": ["admin"]})");
}

TEST(CodecEncode, V2EnvelopeEscapesInnerJsonOnce) {
  Notification n;
  n.publisher_id = "p";
  n.event_type = "e";
  n.set_payload_json(R"({"s": "q\"b\\n\né"})");
  EXPECT_EQ(encode(n, EnvelopeVersion::v2),
            R"({"oslo.version": "2.0", "oslo.message": "{\"publisher_id\": \"p\", \"event_type\": \"e\", )"
            R"(\"priority\": \"INFO\", \"payload\": {\"s\": \"q\\\"b\\\\n\\n\\u00e9\"}}"})");
}

TEST(CodecEncode, EmptyFieldsAreNullOrOmitted) {
  Notification n;
  n.event_type = "x";
  n.priority = Priority::sample;
  EXPECT_EQ(encode(n, EnvelopeVersion::v1),
            R"({"publisher_id": null, "event_type": "x", "priority": "SAMPLE", "payload": {}})");
}

TEST(CodecEncode, EveryPriorityUpperCase) {
  for (Priority p : kAllPriorities) {
    Notification n;
    n.priority = p;
    const std::string body = encode(n, EnvelopeVersion::v1);
    EXPECT_NE(body.find("\"priority\": \"" + std::string(to_upper_string(p)) + "\""), std::string::npos) << body;
  }
}

TEST(CodecEncode, AppendsToCallerBuffer) {
  std::string out = "prefix:";
  encode(sample(), EnvelopeVersion::v2, out);
  EXPECT_EQ(out, "prefix:" + encode(sample(), EnvelopeVersion::v2));
}

TEST(CodecEncode, ContextMustBeAnObject) {
  Notification n;
  n.context().SetArray();
  std::string out = "keep";
  try {
    encode(n, EnvelopeVersion::v2, out);
    FAIL() << "expected Error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
  }
  EXPECT_EQ(out, "keep");
}

TEST(CodecEncode, TooDeepPayloadIsRejectedAndBufferRestored) {
  // Built through the value API: set_payload_json refuses such text already (parse_json's limit).
  Notification n;
  rapidjson::Document deep;
  rapidjson::Value value(rapidjson::kArrayType);
  for (int i = 1; i < 600; ++i) {
    rapidjson::Value outer(rapidjson::kArrayType);
    outer.PushBack(value, deep.GetAllocator());
    value = outer;
  }
  n.set_payload(value);
  std::string out = "keep";
  EXPECT_THROW(encode(n, EnvelopeVersion::v1, out), Error);
  EXPECT_EQ(out, "keep");
  n.set_payload_json(std::string(511, '[') + std::string(511, ']'));  // payload sits at depth 2
  EXPECT_NO_THROW(encode(n, EnvelopeVersion::v1, out));
}

TEST(CodecEncode, StringEscapesMatchPython) {
  // Python: json.dumps("\x00\x01\x1f\x7f\"\\/\b\f\n\r\t é☃😀")
  EXPECT_EQ(string_as_python(std::string("\x00\x01\x1f\x7f\"\\/\b\f\n\r\t \xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80", 22)),
            R"("\u0000\u0001\u001f\u007f\"\\/\b\f\n\r\t \u00e9\u2603\ud83d\ude00")");
}

TEST(CodecEncode, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(string_as_python("a\xff"
                             "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(string_as_python("\xc3"), R"("\ufffd")");                      // truncated sequence
  EXPECT_EQ(string_as_python("\xc0\xaf"), R"("\ufffd\ufffd")");            // overlong '/'
  EXPECT_EQ(string_as_python("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // UTF-8 encoded surrogate
}

TEST(CodecEncode, ContextKeysAreEscaped) {
  Notification n;
  n.set_context_json(R"({"k\u00e9y\"": 1})");
  EXPECT_EQ(encode(n, EnvelopeVersion::v1),
            R"({"publisher_id": null, "event_type": "", "priority": "INFO", "payload": {}, "_context_k\u00e9y\"": 1})");
  EXPECT_EQ(encode(n, EnvelopeVersion::v2),
            R"({"oslo.version": "2.0", "oslo.message": "{\"publisher_id\": null, \"event_type\": \"\", )"
            R"(\"priority\": \"INFO\", \"payload\": {}, \"_context_k\\u00e9y\\\"\": 1}"})");
}

TEST(CodecEncode, ContainersMatchPython) {
  EXPECT_EQ(payload_as_python(R"([[], {}, [1, {}]])"), R"([[], {}, [1, {}]])");
  EXPECT_EQ(payload_as_python(R"({"a":{"b":[1,2]},"c":"d"})"), R"({"a": {"b": [1, 2]}, "c": "d"})");
}

TEST(CodecEncode, IntegersMatchPython) {
  EXPECT_EQ(payload_as_python("[0, -1, 2147483648, -9223372036854775808, 18446744073709551615]"),
            "[0, -1, 2147483648, -9223372036854775808, 18446744073709551615]");
}

struct FloatCase {
  double value;
  const char* python_repr;
};

TEST(CodecEncode, FloatsMatchPythonRepr) {
  // Expected strings from CPython 3.11 json.dumps.
  const FloatCase cases[] = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {123456789012345678.0, "1.2345678901234568e+17"},
      {1e-5, "1e-05"},
      {0.0001, "0.0001"},
      {1.5e-7, "1.5e-07"},
      {2.5e100, "2.5e+100"},
      {1e22, "1e+22"},
      {3.14159, "3.14159"},
      {-2.5, "-2.5"},
      {1.0 / 3.0, "0.3333333333333333"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {100.0, "100.0"},
      {12345.678, "12345.678"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
      {std::numeric_limits<double>::infinity(), "Infinity"},
      {-std::numeric_limits<double>::infinity(), "-Infinity"},
  };
  for (const FloatCase& c : cases) EXPECT_EQ(python_float(c.value), c.python_repr) << c.python_repr;
}

TEST(CodecEncode, ParsedFloatsKeepTheirPythonForm) {
  EXPECT_EQ(payload_as_python("[1.0, 1e2, 0.5, -1.25e-10]"), "[1.0, 100.0, 0.5, -1.25e-10]");
}

}  // namespace
}  // namespace herald
