// decode(): accepted forms, field rules and the malformed-input table.

#include <herald/codec.hpp>
#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald {
namespace {

// Wraps an inner message dict (JSON text) in a v2 envelope, escaping it as a JSON string.
std::string v2(const std::string& inner, const std::string& version = "2.0") {
  std::string escaped;
  for (char c : inner) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return R"({"oslo.version": ")" + version + R"(", "oslo.message": ")" + escaped + "\"}";
}

// `depth` nested objects, {"a":{"a":...}}, left unterminated: the depth check fires first.
std::string deep_objects(int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += "{\"a\":";
  return text;
}

const std::string kMinimal = R"({"event_type": "e", "priority": "info", "payload": {"k": 1}})";

TEST(CodecDecode, V1Dict) {
  const Notification n = decode(
      R"({"message_id": "m", "publisher_id": "p", "event_type": "e", "priority": "ERROR", "payload": [1],)"
      R"( "timestamp": "2024-01-01 00:00:00", "_unique_id": "u", "_context_user": "bob", "_context_n": {"x": null}})");
  EXPECT_EQ(n.message_id, "m");
  EXPECT_EQ(n.publisher_id, "p");
  EXPECT_EQ(n.event_type, "e");
  EXPECT_EQ(n.priority, Priority::error);
  EXPECT_EQ(n.timestamp, "2024-01-01 00:00:00");
  EXPECT_EQ(n.unique_id, "u");
  EXPECT_EQ(n.payload_json(), "[1]");
  EXPECT_EQ(n.context_json(), R"({"user":"bob","n":{"x":null}})");
}

TEST(CodecDecode, V2Envelope) {
  const Notification n = decode(v2(kMinimal));
  EXPECT_EQ(n.event_type, "e");
  EXPECT_EQ(n.priority, Priority::info);
  EXPECT_EQ(n.payload_json(), R"({"k":1})");
  EXPECT_EQ(n.context_json(), "{}");
  EXPECT_TRUE(n.message_id.empty());
  EXPECT_TRUE(n.publisher_id.empty());
  EXPECT_TRUE(n.timestamp.empty());
  EXPECT_TRUE(n.unique_id.empty());
}

TEST(CodecDecode, CompatibleVersions) {
  EXPECT_NO_THROW(decode(v2(kMinimal, "2.0.0")));
  EXPECT_NO_THROW(decode(v2(kMinimal, "2.00")));
}

TEST(CodecDecode, EnvelopeNeedsBothKeysElseItIsV1) {
  // Only one envelope key: oslo treats the dict as a v1 message.
  const Notification n = decode(R"({"oslo.version": "9.9", "event_type": "e", "priority": "debug"})");
  EXPECT_EQ(n.priority, Priority::debug);
  EXPECT_TRUE(n.payload().IsNull());  // missing payload is null
}

TEST(CodecDecode, NullsBecomeEmpty) {
  const Notification n = decode(R"({"message_id": null, "publisher_id": null, "event_type": null,)"
                                R"( "priority": "audit", "payload": null, "timestamp": null, "_unique_id": null})");
  EXPECT_TRUE(n.message_id.empty());
  EXPECT_TRUE(n.publisher_id.empty());
  EXPECT_TRUE(n.event_type.empty());
  EXPECT_TRUE(n.timestamp.empty());
  EXPECT_TRUE(n.payload().IsNull());
}

TEST(CodecDecode, PriorityCaseInsensitiveWithWarningAlias) {
  EXPECT_EQ(decode(R"({"priority": "WARNING"})").priority, Priority::warn);
  EXPECT_EQ(decode(R"({"priority": "Critical"})").priority, Priority::critical);
  EXPECT_EQ(decode(R"({"priority": "sample"})").priority, Priority::sample);
}

TEST(CodecDecode, OsloInternalKeysAreDropped) {
  const Notification n =
      decode(R"({"priority": "info", "_msg_id": "x", "_reply_q": "y", "_timeout": 5, "_context_a": 1, "other": 2})");
  EXPECT_EQ(n.context_json(), R"({"a":1})");
}

TEST(CodecDecode, TimestampForms) {
  for (const char* ts : {"2024-01-01 00:00:00", "2024-01-01 00:00:00.123456", "2024-01-01T00:00:00.1",
                         "2024-01-01 00:00:00+00:00", "2024-01-01T00:00:00Z", ""}) {
    EXPECT_EQ(decode(std::string(R"({"priority": "info", "timestamp": ")") + ts + "\"}").timestamp, ts);
  }
}

struct BadCase {
  const char* name;
  std::string body;
  Errc code;
  const char* message_part;  // must appear in what()
};

std::vector<BadCase> bad_cases() {
  return {
      {"empty body", "", Errc::decode_error, "empty"},
      {"whitespace body", "  ", Errc::decode_error, "not valid JSON"},
      {"truncated", R"({"priority": "info", "payload": {"a": )", Errc::decode_error, "not valid JSON"},
      {"truncated v2", v2(kMinimal).substr(0, 40), Errc::decode_error, "not valid JSON"},
      {"truncated inner", v2(kMinimal.substr(0, 30)), Errc::decode_error, "oslo.message is not valid JSON"},
      {"array root", "[]", Errc::decode_error, "must be a JSON object, got an array"},
      {"string root", R"("x")", Errc::decode_error, "got a string"},
      {"number root", "5", Errc::decode_error, "got a number"},
      {"trailing data", R"({"priority": "info"} {})", Errc::decode_error, "not valid JSON"},
      {"embedded NUL", std::string(R"({"priority": "info"})") + '\0' + "x", Errc::decode_error, "after the value"},
      {"oslo.message object", R"({"oslo.version": "2.0", "oslo.message": {"priority": "info"}})", Errc::decode_error,
       "oslo.message must be a JSON string"},
      {"oslo.message array inside", v2("[1]"), Errc::decode_error, "oslo.message must hold a JSON object"},
      {"version 3.0", v2(kMinimal, "3.0"), Errc::unsupported_version, "'3.0'"},
      {"version 2", v2(kMinimal, "2"), Errc::unsupported_version, "'2'"},
      {"version 2.1", v2(kMinimal, "2.1"), Errc::unsupported_version, "'2.1'"},
      {"version 2.0.1", v2(kMinimal, "2.0.1"), Errc::unsupported_version, "2.0.1"},
      {"version 1.0", v2(kMinimal, "1.0"), Errc::unsupported_version, "1.0"},
      {"version empty", v2(kMinimal, ""), Errc::unsupported_version, "oslo.version"},
      {"version number", R"({"oslo.version": 2.0, "oslo.message": "{}"})", Errc::unsupported_version,
       "must be a string"},
      {"event_type number", R"({"priority": "info", "event_type": 5})", Errc::decode_error, "'event_type'"},
      {"publisher_id object", R"({"priority": "info", "publisher_id": {}})", Errc::decode_error, "'publisher_id'"},
      {"message_id bool", R"({"priority": "info", "message_id": true})", Errc::decode_error, "'message_id'"},
      {"_unique_id number", R"({"priority": "info", "_unique_id": 1})", Errc::decode_error, "'_unique_id'"},
      {"timestamp number", R"({"priority": "info", "timestamp": 1700000000})", Errc::decode_error, "'timestamp'"},
      {"timestamp shape", R"({"priority": "info", "timestamp": "yesterday"})", Errc::decode_error, "'timestamp'"},
      {"priority number", R"({"priority": 3})", Errc::decode_error, "'priority'"},
      {"priority missing", R"({"event_type": "e"})", Errc::unknown_priority, "no priority"},
      {"priority null", R"({"priority": null})", Errc::unknown_priority, "no priority"},
      {"priority unknown", R"({"priority": "loud"})", Errc::unknown_priority, "'loud'"},
      {"priority empty", R"({"priority": ""})", Errc::unknown_priority, "''"},
      {"invalid UTF-8", "{\"priority\": \"info\", \"payload\": \"\xff\xfe\"}", Errc::decode_error, "not valid JSON"},
      // Raw bytes inside oslo.message are checked by the outer parse already.
      {"invalid UTF-8 inner", v2("{\"priority\": \"info\", \"payload\": \"\xc3\x28\"}"), Errc::decode_error,
       "message body is not valid JSON: Invalid encoding"},
      {"lone surrogate escape", R"({"priority": "info", "payload": "\ud800"})", Errc::decode_error, "not valid JSON"},
      {"deep nesting", std::string(100000, '[') + std::string(100000, ']'), Errc::decode_error, "deeper than 512"},
      {"deep object nesting", deep_objects(100000), Errc::decode_error, "deeper than 512"},
      {"deep payload in v2",
       v2(R"({"priority": "info", "payload": )" + std::string(600, '[') + std::string(600, ']') + "}"),
       Errc::decode_error, "oslo.message nests"},
  };
}

TEST(CodecDecode, MalformedInputTable) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    try {
      decode(c.body);
      ADD_FAILURE() << "accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), c.code) << error.what();
      EXPECT_NE(std::string(error.what()).find(c.message_part), std::string::npos) << error.what();
    }
  }
}

TEST(CodecDecode, DecodeErrorsAreDecodeErrorType) {
  EXPECT_THROW(decode("[]"), DecodeError);
  EXPECT_THROW(decode(R"({"priority": "info", "event_type": 5})"), DecodeError);
}

// One exception class per group of Errc values: every way a body cannot become a Notification
// is a DecodeError, whose code says which (issue 12 item 5).
TEST(CodecDecode, UnknownPriorityAndVersionAreDecodeErrorsWithTheirCodes) {
  const std::vector<std::pair<std::string, Errc>> cases = {
      {R"({"priority": "nope", "event_type": "e"})", Errc::unknown_priority},
      {R"({"event_type": "e"})", Errc::unknown_priority},
      {R"({"oslo.version": "9.0", "oslo.message": "{}"})", Errc::unsupported_version},
      {R"({"oslo.version": 2, "oslo.message": "{}"})", Errc::unsupported_version},
  };
  for (const auto& [body, code] : cases) {
    try {
      decode(body);
      ADD_FAILURE() << "no exception for " << body;
    } catch (const DecodeError& error) {
      EXPECT_EQ(error.code(), code) << body << ": " << error.what();
    } catch (const std::exception& error) {
      ADD_FAILURE() << "not a DecodeError for " << body << ": " << error.what();
    }
  }
}

TEST(CodecDecode, ErrorsNeverQuoteThePayload) {
  const std::string secret = "TOP-SECRET-PAYLOAD";
  const std::vector<std::string> bodies = {
      R"({"priority": "nope", "payload": ")" + secret + "\"}",
      R"({"priority": "info", "event_type": 1, "payload": ")" + secret + "\"}",
      R"({"priority": "info", "payload": ")" + secret + "\"",
      v2(R"({"priority": "info", "payload": ")" + secret + "\""),
      v2(R"({"priority": "info", "payload": ")" + secret + "\"}", "3.0"),
  };
  for (const std::string& body : bodies) {
    try {
      decode(body);
      ADD_FAILURE() << "accepted";
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()).find(secret), std::string::npos) << error.what();
    }
  }
}

TEST(CodecDecode, UnknownPriorityMessageIsBounded) {
  try {
    decode(R"({"priority": ")" + std::string(10000, 'x') + "\"}");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::unknown_priority);
    EXPECT_LT(std::string(error.what()).size(), 200u);
  }
}

TEST(CodecDecode, LargePayloadDecodes) {
  const std::string big(10 * 1024 * 1024, 'z');
  const Notification n = decode(v2(R"({"priority": "info", "payload": {"blob": ")" + big + "\"}}"));
  ASSERT_TRUE(n.payload().IsObject());
  EXPECT_EQ(n.payload()["blob"].GetStringLength(), big.size());
}

TEST(CodecDecode, NestingAtTheLimitIsAccepted) {
  // Inner root object is level 1, so the payload may hold 511 levels.
  const Notification n =
      decode(R"({"priority": "info", "payload": )" + std::string(511, '[') + std::string(511, ']') + "}");
  EXPECT_TRUE(n.payload().IsArray());
}

TEST(CodecDecode, NanAndInfinityAcceptedAsPythonDoes) {
  const Notification n = decode(R"({"priority": "info", "payload": [NaN, Infinity, -Infinity]})");
  EXPECT_EQ(encode(n, EnvelopeVersion::v1).find("[NaN, Infinity, -Infinity]") != std::string::npos, true);
}

std::string payload_reencoded(const std::string& payload) {
  const std::string body = encode(decode(R"({"priority": "info", "payload": )" + payload + "}"), EnvelopeVersion::v1);
  const std::string prefix = R"({"publisher_id": null, "event_type": "", "priority": "INFO", "payload": )";
  return body.substr(prefix.size(), body.size() - prefix.size() - 1);
}

TEST(CodecDecode, NumbersAsPythonReadsThem) {
  EXPECT_EQ(payload_reencoded("[0e-300, 1e-400, -1e-400, 1.8e308, -1.8e308, 0.0000e+5]"),
            "[0.0, 0.0, -0.0, Infinity, -Infinity, 0.0]");
  EXPECT_EQ(payload_reencoded("[18446744073709551616, -9223372036854775809, -0, 1E5, 2.5e-3]"),
            "[1.8446744073709552e+19, -9.223372036854776e+18, 0, 100000.0, 0.0025]");
  EXPECT_EQ(payload_reencoded("[NaN, Infinity, -Infinity]"), "[NaN, Infinity, -Infinity]");
  EXPECT_EQ(payload_reencoded("[0.1, 0.30000000000000004, 2.2250738585072014e-308, 4.9e-324]"),
            "[0.1, 0.30000000000000004, 2.2250738585072014e-308, 5e-324]");
  for (const char* bad : {"Inf", "-Inf", "-NaN", "nan", "01", "1.", ".5", "+1", "1e", "0x10"})
    EXPECT_THROW(decode(std::string(R"({"priority": "info", "payload": )") + bad + "}"), DecodeError) << bad;
}

// The canonical v2 layout takes a fast path; any other spacing takes the general one. Both must
// agree on every input, accepted or not.
std::string respaced(const std::string& canonical_v2) {
  const std::string prefix = R"({"oslo.version": "2.0", "oslo.message": )";
  EXPECT_EQ(canonical_v2.rfind(prefix, 0), 0u);
  return R"({ "oslo.message" :)" + canonical_v2.substr(prefix.size(), canonical_v2.size() - prefix.size() - 1) +
         R"(, "oslo.version":"2.0" })";
}

std::string outcome(const std::string& body) {
  try {
    const Notification n = decode(body);
    return "ok " + n.event_type + " " + n.payload_json() + " " + n.context_json();
  } catch (const Error& error) {
    return "error " + std::to_string(error.code().value());
  }
}

TEST(CodecDecode, FastAndGeneralV2PathsAgree) {
  const std::vector<std::string> inners = {
      R"({"priority": "info", "event_type": "a\/b\u00e9\ud83d\ude00\n\t\"q\"\\", "payload": [1.5, "x"]})",
      R"({"priority": "info", "payload": "\ud800"})",        // lone high surrogate
      R"({"priority": "info", "payload": "\udc00"})",        // lone low surrogate
      R"({"priority": "info", "payload": "\ud800\u0041"})",  // high surrogate + non-surrogate
      R"({"priority": "info", "payload": "\u00zz"})",        // bad hex
      R"({"priority": "info", "payload": "\x"})",            // unknown escape
      R"({"priority": "info", "_context_k": {"a": [null]}, "payload": {}})",
      R"({"priority": "info", "payload": {}} trailing)",
      R"({"priority": "info", "payload": {})",
      R"(["not", "an", "object"])",
  };
  for (const std::string& inner : inners) {
    const std::string canonical = v2(inner);
    SCOPED_TRACE(canonical);
    EXPECT_EQ(outcome(canonical), outcome(respaced(canonical)));
  }
  EXPECT_EQ(outcome(v2(inners[0])).rfind("ok ", 0), 0u);
  // Escape-level problems in the envelope string itself.
  for (const std::string escaped : {R"(\u0041)", R"(\ud83d\ude00)", R"(\ud83d)", R"(\udc00)", R"(\q)", "\\", "\x01",
                                    "\xc3\xa9", "\xc3", "\xed\xa0\x80", R"(")"}) {
    const std::string canonical =
        R"({"oslo.version": "2.0", "oslo.message": "{\"priority\": \"info\", \"payload\": \")" + escaped + R"(\"}"})";
    SCOPED_TRACE(canonical);
    EXPECT_EQ(outcome(canonical), outcome(respaced(canonical)));
  }
}

TEST(CodecDecode, FastPathHandlesLongRunsAndTails) {
  // Lengths around the eight-byte steps of the fast scanner.
  for (std::size_t length = 0; length < 40; ++length) {
    const std::string text(length, 'a');
    const std::string inner = R"({"priority": "info", "payload": ")" + text + R"("})";
    EXPECT_EQ(decode(v2(inner)).payload().GetString(), text);
    EXPECT_EQ(decode(v2(inner + std::string(length % 9, ' '))).payload().GetString(), text);
  }
}

TEST(CodecDecode, FastPathAgreesWithTheGeneralPathWhereverAnEscapeFallsInABlock) {
  // The fast unescape copies sixteen bytes at a time and stops inside a block; put each kind of
  // stop at every offset of the first blocks, with plain text of every length after it.
  const std::vector<std::string> stops = {R"(\")",    R"(\\)",           R"(\n)", R"(\u00e9)",
                                          "\xc3\xa9", R"(\ud83d\ude00)", "\xc3",  R"(\q)"};
  for (const std::string& stop : stops) {
    for (std::size_t before = 0; before < 36; ++before) {
      const std::size_t after = (before * 7) % 19;
      const std::string canonical =
          R"({"oslo.version": "2.0", "oslo.message": "{\"priority\": \"info\", \"payload\": \")" +
          std::string(before, 'a') + stop + std::string(after, 'b') + R"(\"}"})";
      SCOPED_TRACE(canonical);
      EXPECT_EQ(outcome(canonical), outcome(respaced(canonical)));
    }
  }
  EXPECT_EQ(
      decode(v2(R"({"priority": "info", "payload": "0123456789abcdef\"0123456789abcdef\\x"})")).payload().GetString(),
      std::string("0123456789abcdef\"0123456789abcdef\\x"));
}

TEST(CodecDecode, LoneLowSurrogateEscapeIsRejectedNotTurnedIntoInvalidUtf8) {
  // Found by fuzz_decode: RapidJSON 1.1.0 accepted an escaped lone low surrogate in the inner v2
  // message and produced a string that was not UTF-8 (and did not survive a round trip).
  for (const char* escape : {R"(\udc00)", R"(\udfff)", R"(x\udc00y)"}) {
    const std::string inner = std::string(R"({"priority": "info", "payload": ")") + escape + R"("})";
    SCOPED_TRACE(inner);
    EXPECT_EQ(outcome(v2(inner)), "error " + std::to_string(static_cast<int>(Errc::decode_error)));
    EXPECT_EQ(outcome(respaced(v2(inner))), "error " + std::to_string(static_cast<int>(Errc::decode_error)));
    EXPECT_EQ(outcome(inner), "error " + std::to_string(static_cast<int>(Errc::decode_error)));  // v1
  }
  // A proper pair still decodes.
  EXPECT_EQ(decode(v2(R"({"priority": "info", "payload": "\ud83d\ude00"})")).payload().GetString(),
            std::string("\xf0\x9f\x98\x80"));
}

}  // namespace
}  // namespace herald
