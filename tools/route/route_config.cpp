#include "tools/route/route_config.hpp"

#include <herald/error.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace herald::route {
namespace {

// Reads one YAML document, turning every problem into "<source>:<line>: <field>: <problem>".
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& field, const std::string& problem) const {
    fail_at(node.IsDefined() ? node.Mark().line : -1, field, problem);
  }
  [[noreturn]] void fail_at(int zero_based_line, const std::string& field, const std::string& problem) const {
    std::string where = source_;
    if (zero_based_line >= 0) where += ":" + std::to_string(zero_based_line + 1);
    throw ConfigError(where + ": " + field + ": " + problem);
  }

  void require_map(const YAML::Node& node, const std::string& field) const {
    if (!node.IsMap()) fail(node, field, "expected a mapping");
  }
  // Unknown keys are errors: a typo must not silently drop a filter rule or an action.
  void only_keys(const YAML::Node& map, const std::string& field, std::initializer_list<std::string_view> keys) const {
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string known;
        for (std::string_view k : keys) known += (known.empty() ? "" : ", ") + std::string(k);
        fail(entry.first, join(field, key), "unknown key (expected one of: " + known + ")");
      }
    }
  }
  std::string string(const YAML::Node& node, const std::string& field, bool allow_empty = false) const {
    if (!node.IsScalar()) fail(node, field, "expected a string");
    const std::string value = node.Scalar();
    if (value.empty() && !allow_empty) fail(node, field, "must not be empty");
    return value;
  }
  std::uint64_t unsigned_integer(const YAML::Node& node, const std::string& field, std::uint64_t min,
                                 std::uint64_t max) const {
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    const std::string range = "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail(node, field, range + ", got '" + text + "'");
    std::uint64_t value = 0;
    try {
      value = std::stoull(text);
    } catch (const std::exception&) {
      fail(node, field, range + ", got '" + text + "'");
    }
    if (value < min || value > max) fail(node, field, range + ", got " + text);
    return value;
  }
  bool boolean(const YAML::Node& node, const std::string& field) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value))
      fail(node, field, "expected true or false, got '" + (node.IsScalar() ? node.Scalar() : std::string()) + "'");
    return value;
  }
  // Seconds, possibly fractional ("2", "0.5"), > 0 and at most a day.
  std::chrono::milliseconds seconds(const YAML::Node& node, const std::string& field) const {
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    double value = 0;
    std::size_t used = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value) || value <= 0 || value > 86400)
      fail(node, field, "expected seconds in (0, 86400], got '" + text + "'");
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(value * 1000)));
  }
  Priority priority(const YAML::Node& node, const std::string& field) const {
    const std::string text = string(node, field);
    auto p = parse_priority(text);
    if (!p) fail(node, field, "unknown priority '" + text + "' (audit, debug, info, warn, error, critical, sample)");
    return *p;
  }

  static std::string join(const std::string& field, const std::string& key) {
    return field.empty() ? key : field + "." + key;
  }
  static std::string index(const std::string& field, std::size_t i) { return field + "[" + std::to_string(i) + "]"; }

 private:
  const std::string& source_;
};

std::vector<Target> read_targets(const Reader& r, const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) r.fail(node, "targets", "expected a non-empty list of {topic, exchange}");
  std::vector<Target> targets;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string field = Reader::index("targets", i);
    Target target;
    if (item.IsScalar()) {  // "- notifications" is short for "- topic: notifications"
      target.topic = r.string(item, field);
    } else {
      r.require_map(item, field);
      r.only_keys(item, field, {"topic", "exchange"});
      if (!item["topic"]) r.fail(item, field + ".topic", "required");
      target.topic = r.string(item["topic"], field + ".topic");
      if (item["exchange"]) target.exchange = r.string(item["exchange"], field + ".exchange");
    }
    targets.push_back(std::move(target));
  }
  return targets;
}

// oslo's NotificationFilter keys: publisher_id, event_type (regexes), context, metadata,
// payload (mappings of top-level key → regex). Built with herald::Filter, so the semantics are
// the library's (re.match, RE2).
Filter read_filter(const Reader& r, const YAML::Node& node, const std::string& field) {
  r.require_map(node, field);
  r.only_keys(node, field, {"publisher_id", "event_type", "context", "metadata", "payload"});
  Filter filter;
  auto guarded = [&](const YAML::Node& at, const std::string& f, auto&& add) {
    try {
      add();
    } catch (const ConfigError& e) {
      // The library's message ("filter.event_type: invalid regex ...") without the category.
      std::string what = e.what();
      const std::string suffix = ": " + e.code().message();
      if (what.ends_with(suffix)) what.resize(what.size() - suffix.size());
      r.fail(at, f, what);
    }
  };
  for (const char* key : {"publisher_id", "event_type"}) {
    const YAML::Node rule = node[key];
    if (!rule) continue;
    const std::string f = Reader::join(field, key);
    const std::string regex = r.string(rule, f, true);
    guarded(rule, f, [&] {
      if (std::string_view(key) == "publisher_id")
        filter.publisher_id(regex);
      else
        filter.event_type(regex);
    });
  }
  using Adder = Filter& (Filter::*)(std::string_view, std::string_view);
  const std::pair<const char*, Adder> keyed[] = {
      {"context", &Filter::context}, {"metadata", &Filter::metadata}, {"payload", &Filter::payload}};
  for (const auto& [key, add] : keyed) {
    const YAML::Node rules = node[key];
    if (!rules) continue;
    const std::string f = Reader::join(field, key);
    if (!rules.IsMap()) r.fail(rules, f, "expected a mapping of key: regex");
    for (const auto& entry : rules) {
      const std::string name = entry.first.Scalar();
      const std::string rule_field = f + "." + name;
      if (std::string_view(key) == "metadata" && name != "message_id" && name != "timestamp")
        r.fail(entry.first, rule_field, "metadata keys are message_id and timestamp");
      const std::string regex = r.string(entry.second, rule_field, true);
      guarded(entry.second, rule_field, [&] { (filter.*add)(name, regex); });
    }
  }
  return filter;
}

Action read_file_action(const Reader& r, const YAML::Node& node, const std::string& field) {
  r.require_map(node, field);
  r.only_keys(node, field, {"path", "max_bytes", "keep"});
  FileAction action;
  if (!node["path"]) r.fail(node, field + ".path", "required");
  action.path = r.string(node["path"], field + ".path");
  if (node["max_bytes"])
    action.max_bytes = r.unsigned_integer(node["max_bytes"], field + ".max_bytes", 1024, 1ull << 50);
  if (node["keep"]) action.keep = static_cast<unsigned>(r.unsigned_integer(node["keep"], field + ".keep", 0, 1000));
  return action;
}

Action read_webhook_action(const Reader& r, const YAML::Node& node, const std::string& field) {
  r.require_map(node, field);
  r.only_keys(node, field, {"url", "connect_timeout", "timeout"});
  WebhookAction action;
  if (!node["url"]) r.fail(node, field + ".url", "required");
  action.url = r.string(node["url"], field + ".url");
  if (action.url.rfind("http://", 0) != 0)
    r.fail(node["url"], field + ".url", "expected an http:// URL (https is not supported), got '" + action.url + "'");
  if (action.url.size() == 7 || action.url[7] == '/' || action.url[7] == ':')
    r.fail(node["url"], field + ".url", "no host in '" + action.url + "'");
  if (node["connect_timeout"]) action.connect_timeout = r.seconds(node["connect_timeout"], field + ".connect_timeout");
  if (node["timeout"]) action.timeout = r.seconds(node["timeout"], field + ".timeout");
  return action;
}

Action read_republish_action(const Reader& r, const YAML::Node& node, const std::string& field) {
  r.require_map(node, field);
  r.only_keys(node, field, {"topic", "exchange", "priority", "timeout"});
  RepublishAction action;
  if (!node["topic"]) r.fail(node, field + ".topic", "required");
  action.topic = r.string(node["topic"], field + ".topic");
  if (node["exchange"]) action.exchange = r.string(node["exchange"], field + ".exchange");
  if (node["priority"]) action.priority = r.priority(node["priority"], field + ".priority");
  if (node["timeout"]) action.timeout = r.seconds(node["timeout"], field + ".timeout");
  return action;
}

Action read_log_action(const Reader& r, const YAML::Node& node, const std::string& field) {
  LogAction action;
  if (node.IsNull()) return action;  // "log:" alone
  r.require_map(node, field);
  r.only_keys(node, field, {"level"});
  if (node["level"]) {
    action.level = r.string(node["level"], field + ".level");
    if (action.level == "warn") action.level = "warning";
    if (action.level != "debug" && action.level != "info" && action.level != "warning" && action.level != "error")
      r.fail(node["level"], field + ".level", "expected debug, info, warning or error, got '" + action.level + "'");
  }
  return action;
}

EndpointConfig read_endpoint(const Reader& r, const YAML::Node& node, const std::string& field) {
  r.require_map(node, field);
  r.only_keys(node, field, {"name", "priorities", "filter", "file", "webhook", "republish", "log"});
  EndpointConfig endpoint;
  endpoint.line = node.Mark().line + 1;
  if (!node["name"]) r.fail(node, field + ".name", "required");
  endpoint.name = r.string(node["name"], field + ".name");
  if (const YAML::Node list = node["priorities"]) {
    const std::string f = field + ".priorities";
    if (list.IsScalar()) {
      endpoint.priorities.push_back(r.priority(list, f));
    } else {
      if (!list.IsSequence() || list.size() == 0) r.fail(list, f, "expected a non-empty list of priorities");
      for (std::size_t i = 0; i < list.size(); ++i) {
        Priority p = r.priority(list[i], Reader::index(f, i));
        if (std::find(endpoint.priorities.begin(), endpoint.priorities.end(), p) == endpoint.priorities.end())
          endpoint.priorities.push_back(p);
      }
    }
  } else {
    endpoint.priorities.assign(kAllPriorities.begin(), kAllPriorities.end());
  }
  if (const YAML::Node filter = node["filter"]) endpoint.filter = read_filter(r, filter, field + ".filter");

  int actions = 0;
  for (const char* kind : {"file", "webhook", "republish", "log"}) {
    const YAML::Node spec = node[kind];
    if (!spec) continue;
    if (++actions > 1) r.fail(spec, field, "exactly one action (file, webhook, republish or log); found a second");
    const std::string f = field + "." + kind;
    const std::string_view k = kind;
    endpoint.action = k == "file"        ? read_file_action(r, spec, f)
                      : k == "webhook"   ? read_webhook_action(r, spec, f)
                      : k == "republish" ? read_republish_action(r, spec, f)
                                         : read_log_action(r, spec, f);
  }
  if (actions == 0) r.fail(node, field, "an action is required: file, webhook, republish or log");
  return endpoint;
}

}  // namespace

std::vector<Priority> RouteConfig::priorities() const {
  std::vector<Priority> out;
  for (Priority p : kAllPriorities)
    for (const EndpointConfig& e : endpoints)
      if (std::find(e.priorities.begin(), e.priorities.end(), p) != e.priorities.end()) {
        out.push_back(p);
        break;
      }
  return out;
}

RouteConfig parse_route_config(std::string_view yaml, const std::string& source) {
  const Reader r(source);
  YAML::Node document;
  try {
    document = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    r.fail_at(e.mark.line, "YAML", e.msg);
  }
  const YAML::Node& root = document;  // const: operator[] must never add keys
  if (!root.IsMap())
    r.fail_at(root.IsDefined() && !root.IsNull() ? root.Mark().line : 0, "(top level)",
              "expected a mapping with 'endpoints'");
  r.only_keys(root, "",
              {"transport_url", "targets", "pool", "workers", "allow_requeue", "max_redeliveries", "credit_window",
               "endpoints"});
  RouteConfig config;
  config.source = source;
  if (const YAML::Node url = root["transport_url"]) {
    config.transport_url = r.string(url, "transport_url");
    config.transport_url_line = url.Mark().line + 1;
  }
  if (const YAML::Node targets = root["targets"]) config.targets = read_targets(r, targets);
  if (const YAML::Node pool = root["pool"]) config.pool = r.string(pool, "pool");
  if (const YAML::Node workers = root["workers"]) config.workers = r.unsigned_integer(workers, "workers", 1, 1024);
  if (const YAML::Node requeue = root["allow_requeue"]) config.allow_requeue = r.boolean(requeue, "allow_requeue");
  if (const YAML::Node limit = root["max_redeliveries"])
    config.max_redeliveries = static_cast<std::uint32_t>(r.unsigned_integer(limit, "max_redeliveries", 0, 1'000'000));
  if (const YAML::Node credit = root["credit_window"])
    config.credit_window = r.unsigned_integer(credit, "credit_window", 1, 1'000'000);

  const YAML::Node endpoints = root["endpoints"];
  if (!endpoints) r.fail(root, "endpoints", "required: a list of endpoints, each with a name and one action");
  if (!endpoints.IsSequence() || endpoints.size() == 0)
    r.fail(endpoints, "endpoints", "expected a non-empty list of endpoints");
  std::set<std::string> names;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const std::string field = Reader::index("endpoints", i);
    EndpointConfig endpoint = read_endpoint(r, endpoints[i], field);
    if (!names.insert(endpoint.name).second)
      r.fail(endpoints[i]["name"], field + ".name", "duplicate endpoint name '" + endpoint.name + "'");
    config.endpoints.push_back(std::move(endpoint));
  }
  return config;
}

RouteConfig load_route_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError(path + ": cannot read the routes file");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_route_config(text.str(), path);
}

}  // namespace herald::route
