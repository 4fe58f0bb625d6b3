#pragma once
/// @file filter.hpp

#include <herald/notification.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace herald {

/// A rule deciding whether an endpoint sees a notification, with oslo's `NotificationFilter`
/// semantics on RE2 (linear time):
/// - each regex is matched like Python `re.match`: anchored at the start only (`compute`
///   matches "compute.instance", `instance` does not; use `$` to anchor the end);
/// - `publisher_id` / `event_type` are tested against those fields;
/// - `context` / `metadata` / `payload` rules name a top-level key; the key must be present and
///   its value must be a string that matches (a missing key, a non-string value, or a payload
///   that is not an object never matches, even with `.*`);
/// - metadata keys are `message_id` and `timestamp` (an empty field counts as absent); a rule
///   on any other metadata key never matches;
/// - oslo never matches an absent (None) publisher_id or event_type; Herald stores absence as
///   "", which patterns such as `.*` do match;
/// - every rule must match (AND); an empty filter matches everything.
///
/// RE2 is not Python `re`: backreferences and lookaround are rejected (ConfigError), `$`
/// matches only at the very end (Python also before a final newline), and `\d`, `\w`, `\s`
/// are ASCII-only.
///
/// **Thread safety:** immutable after construction; copies are cheap and share the compiled
/// regexes; matches() may be called from any number of threads.
class Filter {
 public:
  /// A filter that matches everything.
  Filter();
  ~Filter();
  Filter(const Filter&);
  Filter& operator=(const Filter&);
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;

  // Each builder replaces an earlier rule on the same field or key (oslo's rules are dicts),
  // and leaves the filter unchanged when it throws.

  /// Adds a rule on publisher_id. @throws ConfigError naming the field on an invalid regex,
  /// e.g. "filter.publisher_id: invalid regex '(': missing )".
  Filter& publisher_id(std::string_view regex);
  /// Adds a rule on event_type. @throws ConfigError on an invalid regex.
  Filter& event_type(std::string_view regex);
  /// Adds a rule on top-level context key `key`. @throws ConfigError on an invalid regex.
  Filter& context(std::string_view key, std::string_view regex);
  /// Adds a rule on metadata key `key` (`message_id` or `timestamp`).
  /// @throws ConfigError on an invalid regex.
  Filter& metadata(std::string_view key, std::string_view regex);
  /// Adds a rule on top-level payload key `key`. @throws ConfigError on an invalid regex.
  Filter& payload(std::string_view key, std::string_view regex);

  /// True when every rule matches. Never throws; does not allocate.
  bool matches(const Notification& notification) const;
  /// True when the filter has no rule.
  bool empty() const noexcept;

 private:
  struct Rules;
  std::shared_ptr<Rules> rules_;  // copy-on-write: builders copy when shared
  Rules& mutable_rules();
};

}  // namespace herald
