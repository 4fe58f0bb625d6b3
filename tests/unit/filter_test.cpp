// Filter semantics: oslo's NotificationFilter (re.match, string-only values, AND), on RE2.

#include <herald/error.hpp>
#include <herald/filter.hpp>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <functional>
#include <string>
#include <vector>

namespace {

using herald::Filter;
using herald::Notification;

/// A notification as a compute node would send it.
Notification sample_notification() {
  Notification n;
  n.message_id = "5b1a5bce-2f0e-4d5b-8c3e-7a54b0f1d0a1";
  n.publisher_id = "compute.host1";
  n.event_type = "compute.instance.create.end";
  n.timestamp = "2024-05-06 07:08:09.123456";
  n.set_payload_json(R"({"state":"active","count":5,"none":null,"flag":true,"nested":{"a":"b"},"list":["x"],)"
                     R"("empty":"","name":"café-ü","multi":"line\nbreak"})");
  n.set_context_json(R"({"user":"alice","project_id":"p-1","roles":["admin"],"is_admin":false,"quota":3})");
  return n;
}

struct FilterCase {
  std::string name;
  std::function<Filter()> filter;
  bool expected;
  std::function<void(Notification&)> adjust = [](Notification&) {};
};

void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

class FilterSemantics : public ::testing::TestWithParam<FilterCase> {};

TEST_P(FilterSemantics, Matches) {
  const FilterCase& c = GetParam();
  Notification n = sample_notification();
  c.adjust(n);
  EXPECT_EQ(c.filter().matches(n), c.expected);
}

Filter event(const char* regex) { return Filter{}.event_type(regex); }
Filter publisher(const char* regex) { return Filter{}.publisher_id(regex); }
Filter payload(const char* key, const char* regex) { return Filter{}.payload(key, regex); }
Filter context(const char* key, const char* regex) { return Filter{}.context(key, regex); }
Filter metadata(const char* key, const char* regex) { return Filter{}.metadata(key, regex); }

auto with_event(std::string value) {
  return [value](Notification& n) { n.event_type = value; };
}
auto with_payload(std::string json) {
  return [json](Notification& n) { n.set_payload_json(json); };
}

std::vector<FilterCase> anchoring_cases() {
  return {
      {"middle_word_does_not_match", [] { return event("instance"); }, false},
      {"prefix_matches", [] { return event("compute.instance"); }, true},
      {"escaped_prefix_matches", [] { return event(R"(compute\.instance)"); }, true},
      {"dot_star_prefix_searches", [] { return event(".*instance"); }, true},
      {"exact_with_caret_dollar", [] { return event(R"(^compute\.instance\.create\.end$)"); }, true},
      {"exact_rejects_prefix", [] { return event(R"(^compute\.instance$)"); }, false},
      {"dollar_rejects_longer_text", [] { return event(R"(compute\.instance\.create\.end$)"); }, false,
       with_event("compute.instance.create.end.extra")},
      {"dot_is_a_metacharacter", [] { return event("compute.instance"); }, true, with_event("computeXinstance")},
      {"escaped_dot_is_literal", [] { return event(R"(compute\.instance)"); }, false, with_event("computeXinstance")},
      {"suffix_alone_does_not_match", [] { return event("end"); }, false},
      {"dot_star_suffix_with_dollar", [] { return event(".*end$"); }, true},
      {"alternation_matches", [] { return event(R"(compute\.(instance|volume)\.)"); }, true},
      {"alternation_mismatch", [] { return event(R"((volume|image)\.)"); }, false},
      {"top_level_alternation", [] { return event("volume|compute"); }, true},
      {"quantified_last_char", [] { return event("ab*"); }, true, with_event("a")},
      {"optional_char", [] { return event("ab?c"); }, true, with_event("ac")},
      {"counted_repetition", [] { return event("a{2}"); }, false, with_event("ab")},
      {"quoted_literal", [] { return event(R"(\Qa.b)"); }, false, with_event("axb")},
      {"case_insensitive_flag", [] { return event("(?i)COMPUTE"); }, true},
      {"case_sensitive_by_default", [] { return event("COMPUTE"); }, false},
      {"caret_alone_matches_anything", [] { return event("^"); }, true},
      {"dollar_alone_needs_empty_text", [] { return event("$"); }, false},
      {"dollar_alone_on_empty_text", [] { return event("$"); }, true, with_event("")},
      // RE2's `$` is end of text; Python's also matches before a final newline.
      {"dollar_is_end_of_text", [] { return event("a$"); }, false, with_event("a\n")},
      {"publisher_prefix", [] { return publisher("compute"); }, true},
      {"publisher_host_alone", [] { return publisher("host1"); }, false},
  };
}

std::vector<FilterCase> empty_regex_cases() {
  return {
      {"empty_regex_on_event", [] { return event(""); }, true},
      {"empty_regex_on_empty_event", [] { return event(""); }, true, with_event("")},
      {"dot_needs_a_character", [] { return event("."); }, false, with_event("")},
      {"dot_star_on_empty", [] { return event(".*"); }, true, with_event("")},
      {"empty_regex_on_empty_string_value", [] { return payload("empty", ""); }, true},
      {"empty_regex_on_int_value", [] { return payload("count", ""); }, false},
      // oslo would see None and mismatch; Herald stores an absent publisher as "" (documented).
      {"absent_publisher_matches_dot_star", [] { return publisher(".*"); }, true,
       [](Notification& n) { n.publisher_id.clear(); }},
      {"absent_publisher_fails_literal", [] { return publisher("compute"); }, false,
       [](Notification& n) { n.publisher_id.clear(); }},
  };
}

std::vector<FilterCase> value_type_cases() {
  return {
      {"payload_string_matches", [] { return payload("state", "act"); }, true},
      {"payload_string_mismatch", [] { return payload("state", "error"); }, false},
      {"payload_missing_key", [] { return payload("absent", ".*"); }, false},
      {"payload_int_never_matches", [] { return payload("count", ".*"); }, false},
      {"payload_int_text_never_matches", [] { return payload("count", "5"); }, false},
      {"payload_null_never_matches", [] { return payload("none", ".*"); }, false},
      {"payload_bool_never_matches", [] { return payload("flag", ".*"); }, false},
      {"payload_object_never_matches", [] { return payload("nested", ".*"); }, false},
      {"payload_array_never_matches", [] { return payload("list", ".*"); }, false},
      {"payload_no_nested_paths", [] { return payload("nested.a", ".*"); }, false},
      {"payload_newline_value", [] { return payload("multi", "line"); }, true},
      {"context_string_matches", [] { return context("user", "ali"); }, true},
      {"context_missing_key", [] { return context("tenant", ".*"); }, false},
      {"context_int_never_matches", [] { return context("quota", ".*"); }, false},
      {"context_bool_never_matches", [] { return context("is_admin", ".*"); }, false},
      {"context_array_never_matches", [] { return context("roles", ".*"); }, false},
      {"context_null_never_matches", [] { return context("user", ".*"); }, false,
       [](Notification& n) { n.set_context_json(R"({"user":null})"); }},
      {"context_object_never_matches", [] { return context("user", ".*"); }, false,
       [](Notification& n) { n.set_context_json(R"({"user":{"name":"alice"}})"); }},
      // oslo raises TypeError here; Herald's filter reports a mismatch (documented).
      {"payload_string_is_not_an_object", [] { return payload("a", ".*"); }, false, with_payload(R"("abc")")},
      {"payload_null_is_not_an_object", [] { return payload("a", ".*"); }, false, with_payload("null")},
      {"payload_array_is_not_an_object", [] { return payload("a", ".*"); }, false, with_payload(R"(["a"])")},
      {"payload_number_is_not_an_object", [] { return payload("a", ".*"); }, false, with_payload("7")},
      {"non_object_payload_without_payload_rule", [] { return event("compute"); }, true, with_payload(R"("abc")")},
  };
}

std::vector<FilterCase> unicode_cases() {
  return {
      {"unicode_value_ascii_prefix", [] { return payload("name", "caf"); }, true},
      {"unicode_value_unicode_prefix", [] { return payload("name", "café"); }, true},
      // `.` is one code point (é is two UTF-8 bytes), as in Python's str matching.
      {"dot_matches_one_code_point", [] { return payload("name", "caf.-"); }, true},
      {"two_dots_do_not_match_one_code_point", [] { return payload("name", "caf..-"); }, false},
      {"unicode_class", [] { return payload("name", "caf[à-ë]-[ü]$"); }, true},
      {"unicode_event_literal", [] { return event(R"(日本\.)"); }, true, with_event("日本.イベント")},
      {"quantifier_applies_to_whole_code_point", [] { return event("日本+x"); }, true, with_event("日本本本x")},
      {"quantifier_does_not_split_code_point", [] { return event("日本+x"); }, false, with_event("日x")},
      {"optional_unicode_char", [] { return event("é?a"); }, true, with_event("a")},
      {"unicode_exact", [] { return event("^イベント$"); }, true, with_event("イベント")},
      {"unicode_mismatch", [] { return event("イベ"); }, false, with_event("日本.イベント")},
  };
}

std::vector<FilterCase> metadata_cases() {
  return {
      {"message_id_matches", [] { return metadata("message_id", "5b1a"); }, true},
      {"message_id_mismatch", [] { return metadata("message_id", "ffff"); }, false},
      {"timestamp_matches", [] { return metadata("timestamp", R"(2024-05-06 )"); }, true},
      {"timestamp_mismatch", [] { return metadata("timestamp", "^2023"); }, false},
      {"empty_timestamp_is_absent", [] { return metadata("timestamp", ".*"); }, false,
       [](Notification& n) { n.timestamp.clear(); }},
      {"empty_message_id_is_absent", [] { return metadata("message_id", ""); }, false,
       [](Notification& n) { n.message_id.clear(); }},
      {"unknown_metadata_key", [] { return metadata("priority", ".*"); }, false},
      {"publisher_is_not_metadata", [] { return metadata("publisher_id", ".*"); }, false},
  };
}

std::vector<FilterCase> conjunction_cases() {
  return {
      {"empty_filter_matches", [] { return Filter{}; }, true},
      {"empty_filter_matches_odd_payload", [] { return Filter{}; }, true, with_payload("null")},
      {"both_match", [] { return Filter{}.publisher_id("compute").event_type(".*create"); }, true},
      {"publisher_fails", [] { return Filter{}.publisher_id("network").event_type(".*create"); }, false},
      {"event_fails", [] { return Filter{}.publisher_id("compute").event_type("volume"); }, false},
      {"all_five_match",
       [] {
         return Filter{}
             .publisher_id("compute")
             .event_type("compute")
             .context("user", "alice")
             .metadata("timestamp", "2024")
             .payload("state", "active$");
       },
       true},
      {"one_of_five_fails",
       [] {
         return Filter{}
             .publisher_id("compute")
             .event_type("compute")
             .context("user", "bob")
             .metadata("timestamp", "2024")
             .payload("state", "active$");
       },
       false},
      {"two_payload_keys_both_needed", [] { return Filter{}.payload("state", "active").payload("empty", "x"); }, false},
      {"later_rule_replaces_earlier", [] { return Filter{}.event_type("volume").event_type("compute"); }, true},
      {"later_key_rule_replaces_earlier", [] { return Filter{}.payload("state", "x").payload("state", "act"); }, true},
  };
}

std::string case_name(const ::testing::TestParamInfo<FilterCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Anchoring, FilterSemantics, ::testing::ValuesIn(anchoring_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(EmptyRegex, FilterSemantics, ::testing::ValuesIn(empty_regex_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(ValueTypes, FilterSemantics, ::testing::ValuesIn(value_type_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Unicode, FilterSemantics, ::testing::ValuesIn(unicode_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Metadata, FilterSemantics, ::testing::ValuesIn(metadata_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Conjunction, FilterSemantics, ::testing::ValuesIn(conjunction_cases()), case_name);

// --- Invalid regexes ------------------------------------------------------------------------

struct InvalidCase {
  std::string name;
  std::function<void(Filter&)> build;
  std::string field;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class FilterInvalidRegex : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(FilterInvalidRegex, ThrowsConfigErrorNamingTheField) {
  const InvalidCase& c = GetParam();
  Filter filter = Filter{}.event_type("compute");
  try {
    c.build(filter);
    FAIL() << "expected ConfigError";
  } catch (const herald::ConfigError& error) {
    EXPECT_EQ(error.code(), herald::Errc::invalid_config);
    EXPECT_EQ(std::string(error.what()).rfind(c.field + ": invalid regex '", 0), 0u) << error.what();
  }
  // A throwing builder leaves the filter as it was.
  EXPECT_TRUE(filter.matches(sample_notification()));
}

std::string invalid_name(const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Fields, FilterInvalidRegex,
    ::testing::Values(InvalidCase{"publisher_id", [](Filter& f) { f.publisher_id("("); }, "filter.publisher_id"},
                      InvalidCase{"event_type", [](Filter& f) { f.event_type("[a"); }, "filter.event_type"},
                      InvalidCase{"context", [](Filter& f) { f.context("user", "a**"); }, "filter.context.user"},
                      InvalidCase{"metadata", [](Filter& f) { f.metadata("timestamp", "\\"); },
                                  "filter.metadata.timestamp"},
                      InvalidCase{"payload", [](Filter& f) { f.payload("state", "a{2,1}"); }, "filter.payload.state"},
                      InvalidCase{"lookahead", [](Filter& f) { f.event_type("(?=x)"); }, "filter.event_type"},
                      InvalidCase{"backreference", [](Filter& f) { f.event_type(R"((a)\1)"); }, "filter.event_type"},
                      InvalidCase{"unbalanced_close", [](Filter& f) { f.event_type("a)(b"); }, "filter.event_type"}),
    invalid_name);

TEST(FilterInvalidRegex, MessageIsReadable) {
  try {
    Filter{}.event_type("(");
    FAIL() << "expected ConfigError";
  } catch (const herald::ConfigError& error) {
    // std::system_error appends ": <category message>" to what().
    const std::string expected = "filter.event_type: invalid regex '(': missing )";
    EXPECT_EQ(std::string(error.what()).substr(0, expected.size()), expected) << error.what();
  }
}

// --- Fast paths agree with RE2 -----------------------------------------------------------------

// Filter answers literal patterns without RE2 and runs the rest as `^(?:pattern)`; both must
// give exactly what RE2 gives for the raw pattern matched with ANCHOR_START.
TEST(FilterDifferential, AgreesWithPlainRe2AnchoredAtStart) {
  const std::vector<std::string> patterns = {
      "",       ".*",      "^",        "$",           "^$",      "compute", R"(compute\.)",
      "a.b",    R"(a\.b)", "ab*",      "ab+",         "ab?",     "a{2}",    "a{,2}x",
      "a|b",    "ab|cd",   "(ab)",     "a$",          "^a$",     "ab.*",    "ab.*$",
      "ab.+",   "[ab]c",   R"(\Qa.b)", R"(\Qa.b\E.)", "(?i)AB",  "é",       "é+",
      "日本+x", R"(\-a)",  R"(\/a)",   "a#b",         "a b",     "]",       "}",
      "a}",     R"(\d)",   R"(\x41)",  "(?s:.)",      R"(\Aab)", R"(\bab)", R"(ab\z)"};
  const std::vector<std::string> texts = {
      "",      "a",       "ab", "abb", "a.b", "axb", "ac", "aa", "aab", "cd", "abcd", "AB", "a\n", "ab\n", "é",  "éé",
      "日本x", "日本本x", "-a", "/a",  "a#b", "a b", "]",  "}",  "a}",  "7",  "A",    "\n", "x",   "a,x",  "ax", "b"};
  RE2::Options options;
  options.set_log_errors(false);
  for (const std::string& pattern : patterns) {
    const RE2 reference(pattern, options);
    ASSERT_TRUE(reference.ok()) << pattern;
    const Filter filter = Filter{}.event_type(pattern);
    for (const std::string& text : texts) {
      Notification n;
      n.event_type = text;
      EXPECT_EQ(filter.matches(n), reference.Match(text, 0, text.size(), RE2::ANCHOR_START, nullptr, 0))
          << "pattern '" << pattern << "' text '" << text << "'";
    }
  }
}

// --- Value semantics --------------------------------------------------------------------------

TEST(FilterValue, EmptyReportsRules) {
  EXPECT_TRUE(Filter{}.empty());
  EXPECT_FALSE(Filter{}.event_type("").empty());
  EXPECT_FALSE(Filter{}.metadata("other", "").empty());
}

TEST(FilterValue, CopyIsIndependentOfLaterChanges) {
  const Filter original = Filter{}.publisher_id("compute");
  Filter copy = original;
  copy.event_type("volume");  // copy-on-write: the original keeps one rule
  const Notification n = sample_notification();
  EXPECT_TRUE(original.matches(n));
  EXPECT_FALSE(copy.matches(n));
}

TEST(FilterValue, ChangingTheOriginalLeavesTheCopy) {
  Filter original = Filter{}.publisher_id("compute");
  const Filter copy = original;
  original.publisher_id("network");
  const Notification n = sample_notification();
  EXPECT_FALSE(original.matches(n));
  EXPECT_TRUE(copy.matches(n));
}

TEST(FilterValue, MovedFromIsEmpty) {
  Filter source = Filter{}.publisher_id("network");
  Filter target = std::move(source);
  EXPECT_FALSE(target.matches(sample_notification()));
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_TRUE(source.matches(sample_notification()));
}

TEST(FilterValue, AssignmentReplacesRules) {
  Filter filter = Filter{}.publisher_id("network");
  filter = Filter{}.publisher_id("compute");
  EXPECT_TRUE(filter.matches(sample_notification()));
}

}  // namespace
