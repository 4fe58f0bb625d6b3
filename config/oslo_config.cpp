#include "config/oslo_config.hpp"

#include "config/ini_file.hpp"
#include "config/oslo_options.hpp"
#include "config/url_builder.hpp"

#include <herald/error.hpp>
#include <herald/transport_url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <utility>

namespace herald::detail {
namespace {

enum class Layer { defaults, file, environment, override };

struct Setting {
  std::string value;
  ConfigOrigin origin;
  Layer layer = Layer::file;
};

using Key = std::pair<std::string, std::string>;

bool is_herald_group(std::string_view group) {
  return group == kDefaultGroup || group == kNotificationsGroup || group == kRabbitGroup || group == kHeraldGroup;
}

std::string describe_option(const Key& key) { return "[" + key.first + "] " + key.second; }

[[noreturn]] void fail(const ConfigOrigin& origin, const Key& key, const std::string& what) {
  throw ConfigError(origin.to_string() + ": " + describe_option(key) + ": " + what);
}

// The text of `e` without the ": <category message>" std::system_error appends, for wrapping.
std::string message_of(const ConfigError& e) {
  std::string what = e.what();
  const std::string suffix = ": " + e.code().message();
  if (what.size() > suffix.size() && what.ends_with(suffix)) what.resize(what.size() - suffix.size());
  return what;
}

// Every value read, by (group, option), plus the options Herald reports as ignored.
class Settings {
 public:
  void add(std::string group, std::string option, Setting setting) {
    group = normalise_group_name(group);
    const OptionSpec* spec = find_option(group, option);
    if (spec && spec->use == OptionUse::alias) {
      group = std::string(spec->alias_group);
      option = std::string(spec->alias_option);
      spec = find_option(group, option);
    }
    note_if_ignored(group, option, spec, setting.origin);
    std::vector<Setting>& slot = values_[{group, option}];
    // A multi-valued option (oslo MultiStrOpt) collects every assignment of every file; any
    // other layer replaces what came before.
    const bool collect = spec && spec->type == OptionType::multi && setting.layer == Layer::file && !slot.empty() &&
                         slot.back().layer == Layer::file;
    if (!collect) slot.clear();
    slot.push_back(std::move(setting));
  }

  const std::vector<Setting>* find(const Key& key) const {
    auto it = values_.find(key);
    return it == values_.end() || it->second.empty() ? nullptr : &it->second;
  }

  /// The options set in `group`, in name order.
  std::vector<std::string> options_of(std::string_view group) const {
    std::vector<std::string> out;
    for (const auto& [key, values] : values_)
      if (key.first == group && !values.empty()) out.push_back(key.second);
    return out;
  }

  std::vector<IgnoredOption> take_ignored() { return std::move(ignored_); }

 private:
  void note_if_ignored(const std::string& group, const std::string& option, const OptionSpec* spec,
                       const ConfigOrigin& origin) {
    std::string reason;
    if (spec && spec->use == OptionUse::not_implemented)
      reason = spec->note.empty() ? "not implemented by Herald" : "not implemented: " + std::string(spec->note);
    else if (!spec && reports_unknown_options(group))
      reason = "unknown option";
    else
      return;
    for (IgnoredOption& seen : ignored_) {
      if (seen.group == group && seen.option == option) {
        seen.origin = origin;  // listed once, with where it was set last
        return;
      }
    }
    ignored_.push_back({group, option, origin, std::move(reason)});
  }

  std::map<Key, std::vector<Setting>> values_;
  std::vector<IgnoredOption> ignored_;
};

// oslo.config's `$name` / `${group.name}` substitution; `$$` is a literal `$`.
class Expander {
 public:
  explicit Expander(const Settings& settings) : settings_(settings) {}

  std::string expand(const Setting& setting, const Key& key, int depth = 0) const {
    if (setting.layer == Layer::override || setting.layer == Layer::defaults) return setting.value;
    if (depth > 16) fail(setting.origin, key, "'$' substitution nests too deep (a cycle?)");
    const std::string& text = setting.value;
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$') {
        out.push_back(text[i]);
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '$') {
        out.push_back('$');
        ++i;
        continue;
      }
      std::string name;
      if (i + 1 < text.size() && text[i + 1] == '{') {
        std::size_t close = text.find('}', i + 2);
        if (close == std::string::npos) fail(setting.origin, key, "unterminated '${' (write $$ for a literal $)");
        name = text.substr(i + 2, close - i - 2);
        i = close;
      } else {
        std::size_t end = i + 1;
        auto is_name_char = [](char c, bool first) {
          return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                 (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '.'));
        };
        while (end < text.size() && is_name_char(text[end], end == i + 1)) ++end;
        while (end > i + 1 && text[end - 1] == '.') --end;  // "$host." ends a sentence
        name = text.substr(i + 1, end - i - 1);
        i = end - 1;
      }
      if (name.empty()) fail(setting.origin, key, "'$' without a variable name (write $$ for a literal $)");
      out += resolve(name, setting, key, depth);
    }
    return out;
  }

 private:
  std::string resolve(const std::string& name, const Setting& from, const Key& key, int depth) const {
    Key target{std::string(kDefaultGroup), name};
    if (std::size_t dot = name.find('.'); dot != std::string::npos)
      target = {normalise_group_name(name.substr(0, dot)), name.substr(dot + 1)};
    const std::vector<Setting>* values = settings_.find(target);
    if (!values) fail(from.origin, key, "unknown variable '$" + name + "' (write $$ for a literal $)");
    return expand(values->back(), target, depth + 1);
  }

  const Settings& settings_;
};

struct Resolved {
  std::string value;
  ConfigOrigin origin;
};

bool parse_bool(const Resolved& r, const Key& key) {
  if (std::optional<bool> value = parse_oslo_bool(r.value)) return *value;
  fail(r.origin, key, "bad value '" + r.value + "' (expected true/false, yes/no, on/off or 1/0)");
}

double parse_number(const Resolved& r, const Key& key, const OptionSpec& spec) {
  const bool whole = spec.type == OptionType::integer;
  const std::string expected = std::string(whole ? "an integer" : "a number of seconds") + " in [" +
                               std::to_string(static_cast<long long>(spec.min)) + ", " +
                               std::to_string(static_cast<long long>(spec.max)) + "]";
  double value = 0;
  if (whole) {
    long long integer = 0;
    auto [end, ec] = std::from_chars(r.value.data(), r.value.data() + r.value.size(), integer);
    if (ec != std::errc{} || end != r.value.data() + r.value.size())
      fail(r.origin, key, "bad value '" + r.value + "' (expected " + expected + ")");
    value = static_cast<double>(integer);
  } else {
    char* end = nullptr;
    value = std::strtod(r.value.c_str(), &end);
    if (r.value.empty() || end != r.value.c_str() + r.value.size() || !std::isfinite(value))
      fail(r.origin, key, "bad value '" + r.value + "' (expected " + expected + ")");
  }
  if (value < spec.min || value > spec.max)
    fail(r.origin, key, "value '" + r.value + "' out of range (expected " + expected + ")");
  return value;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    const auto first = item.find_first_not_of(" \t\r\n");
    const auto last = item.find_last_not_of(" \t\r\n");
    if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    pos = comma + 1;
  }
  return items;
}

// Seconds as the driver reads them: integers stay integers ("30"), others keep their text.
std::string seconds_text(double seconds) {
  if (seconds == std::floor(seconds)) return std::to_string(static_cast<long long>(seconds));
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, seconds);
  (void)ec;
  return std::string(buffer, end);
}

class Builder {
 public:
  explicit Builder(Settings& settings) : settings_(settings), expander_(settings) {}

  std::optional<Resolved> get(std::string_view group, std::string_view option) const {
    const Key key{std::string(group), std::string(option)};
    const std::vector<Setting>* values = settings_.find(key);
    if (!values) return std::nullopt;
    return Resolved{expander_.expand(values->back(), key), values->back().origin};
  }

  std::vector<Resolved> get_all(std::string_view group, std::string_view option) const {
    const Key key{std::string(group), std::string(option)};
    std::vector<Resolved> out;
    if (const std::vector<Setting>* values = settings_.find(key))
      for (const Setting& s : *values) out.push_back({expander_.expand(s, key), s.origin});
    return out;
  }

  Config build() {
    Config config;
    if (auto v = get(kDefaultGroup, "control_exchange")) {
      if (v->value.empty()) fail(v->origin, {std::string(kDefaultGroup), "control_exchange"}, "must not be empty");
      config.control_exchange = v->value;
      entry(kDefaultGroup, "control_exchange", v->value, v->origin);
    } else {
      entry(kDefaultGroup, "control_exchange", config.control_exchange, default_origin());
    }
    if (auto v = get(kDefaultGroup, "executor_thread_pool_size")) {
      config.executor_thread_pool_size =
          static_cast<std::size_t>(parse_number(*v, {std::string(kDefaultGroup), "executor_thread_pool_size"},
                                                *find_option(kDefaultGroup, "executor_thread_pool_size")));
      entry(kDefaultGroup, "executor_thread_pool_size", v->value, v->origin);
    }
    build_notifications(config);
    build_transport_url(config);
    if (auto v = get(kHeraldGroup, "send_timeout")) {
      const double seconds =
          parse_number(*v, {std::string(kHeraldGroup), "send_timeout"}, *find_option(kHeraldGroup, "send_timeout"));
      config.send_timeout = std::chrono::milliseconds(std::llround(seconds * 1000));
      entry(kHeraldGroup, "send_timeout", v->value, v->origin);
    }
    build_outbox(config);
    config.entries = std::move(entries_);
    config.ignored = settings_.take_ignored();
    config.ignored.insert(config.ignored.end(), extra_ignored_.begin(), extra_ignored_.end());
    return config;
  }

  void build_outbox(Config& config) {
    const std::string g(kHeraldGroup);
    if (auto v = get(kHeraldGroup, "outbox_dir")) {
      config.outbox_dir = v->value;
      entry(kHeraldGroup, "outbox_dir", v->value, v->origin);
    }
    if (auto v = get(kHeraldGroup, "outbox_commit_interval")) {
      const double seconds = parse_number(*v, {g, "outbox_commit_interval"}, *find_option(g, "outbox_commit_interval"));
      config.outbox_commit_interval = std::chrono::milliseconds(std::llround(seconds * 1000));
      if (seconds > 0 && config.outbox_commit_interval.count() == 0)
        config.outbox_commit_interval = std::chrono::milliseconds(1);
      entry(kHeraldGroup, "outbox_commit_interval", v->value, v->origin);
    }
    if (auto v = get(kHeraldGroup, "outbox_max_bytes")) {
      config.outbox_max_bytes =
          static_cast<std::uint64_t>(parse_number(*v, {g, "outbox_max_bytes"}, *find_option(g, "outbox_max_bytes")));
      entry(kHeraldGroup, "outbox_max_bytes", v->value, v->origin);
    }
    if (auto v = get(kHeraldGroup, "outbox_full_policy")) {
      if (v->value != "block" && v->value != "fail_new" && v->value != "drop_oldest")
        fail(v->origin, {g, "outbox_full_policy"}, "must be block, fail_new or drop_oldest");
      config.outbox_full_policy = v->value;
      entry(kHeraldGroup, "outbox_full_policy", v->value, v->origin);
    }
  }

  // [herald] options other than send_timeout go to the URL query as written.
  void set_herald_query_options(std::vector<std::pair<std::string, Resolved>> options) {
    herald_query_ = std::move(options);
  }

 private:
  static ConfigOrigin default_origin() { return {"default", 0}; }

  void entry(std::string_view group, std::string_view option, std::string value, ConfigOrigin origin) {
    if (is_secret_name(option))
      value = "****";
    else if (value.find("://") != std::string::npos)
      value = mask_url(value);  // any URL, wherever it is set, may carry a password
    entries_.push_back({std::string(group), std::string(option), std::move(value), std::move(origin)});
  }

  void build_notifications(Config& config) {
    const std::string g(kNotificationsGroup);
    for (const Resolved& r : get_all(g, "driver")) {
      static constexpr std::string_view kDrivers[] = {"messaging", "messagingv2", "routing", "log", "test", "noop"};
      if (std::find(std::begin(kDrivers), std::end(kDrivers), r.value) == std::end(kDrivers))
        fail(r.origin, {g, "driver"},
             "unknown driver '" + r.value + "' (expected messaging, messagingv2, routing, log, test or noop)");
      if (std::find(config.drivers.begin(), config.drivers.end(), r.value) == config.drivers.end())
        config.drivers.push_back(r.value);
      entry(g, "driver", r.value, r.origin);
    }
    if (auto v = get(g, "topics")) {
      config.topics = split_list(v->value);
      if (config.topics.empty()) fail(v->origin, {g, "topics"}, "needs at least one topic");
      entry(g, "topics", v->value, v->origin);
    } else {
      entry(g, "topics", "notifications", default_origin());
    }
    if (auto v = get(g, "retry")) {
      config.retry = static_cast<int>(parse_number(*v, {g, "retry"}, *find_option(g, "retry")));
      entry(g, "retry", v->value, v->origin);
    } else {
      entry(g, "retry", "-1", default_origin());
    }
    if (auto v = get(g, "routing_config")) {
      config.routing_config = v->value;
      entry(g, "routing_config", v->value, v->origin);
    }
  }

  void build_transport_url(Config& config) {
    // [oslo_messaging_notifications] transport_url, else [DEFAULT] transport_url, else oslo's
    // default "rabbit://" (guest@localhost:5672).
    std::optional<Resolved> url = get(kNotificationsGroup, "transport_url");
    Key url_key{std::string(kNotificationsGroup), "transport_url"};
    if (!url) {
      url = get(kDefaultGroup, "transport_url");
      url_key = {std::string(kDefaultGroup), "transport_url"};
    }
    if (!url) url = Resolved{"rabbit://", default_origin()};
    UrlBuilder builder;
    try {
      builder = UrlBuilder(url->value);
    } catch (const ConfigError& e) {
      fail(url->origin, url_key, message_of(e));
    }
    entry(url_key.first, url_key.second, builder.masked(), url->origin);
    try {
      for (std::string& dropped : builder.translate_oslo_query())
        extra_ignored_.push_back({std::string(kRabbitGroup), std::move(dropped), url->origin,
                                  "not implemented by Herald (a query option of the transport URL)"});
    } catch (const ConfigError& e) {
      fail(url->origin, url_key, message_of(e));
    }
    apply_rabbit_options(builder);
    for (auto& [key, value] : herald_query_) {
      builder.set(key, value.value);
      entry(kHeraldGroup, key, value.value, value.origin);
    }
    config.transport_url = builder.str();
    config.prefetch_count = prefetch_;
  }

  void apply_rabbit_options(UrlBuilder& url) {
    const std::string g(kRabbitGroup);
    const bool amqp = url.scheme() != "memory";
    std::optional<Resolved> ssl = get(g, "ssl");
    if (ssl) {
      const bool on = parse_bool(*ssl, {g, "ssl"});
      entry(g, "ssl", on ? "true" : "false", ssl->origin);
      if (on && amqp) url.use_tls();
      if (!amqp) extra_ignored_.push_back({g, "ssl", ssl->origin, "does not apply to memory://"});
    }
    for (const OptionSpec& spec : option_specs()) {
      if (spec.group != kRabbitGroup || (spec.use != OptionUse::query && spec.use != OptionUse::herald)) continue;
      if (spec.name == "ssl") continue;
      std::optional<Resolved> v = get(g, spec.name);
      if (!v) continue;
      const Key key{g, std::string(spec.name)};
      std::string value = v->value;
      switch (spec.type) {
        case OptionType::boolean:
          value = parse_bool(*v, key) ? "true" : "false";
          break;
        case OptionType::integer:
        case OptionType::seconds:
          value = seconds_text(parse_number(*v, key, spec));
          break;
        default:
          break;
      }
      if (spec.name == "rabbit_qos_prefetch_count") {
        prefetch_ = static_cast<std::size_t>(parse_number(*v, key, spec));
        entry(g, spec.name, value, v->origin);
        continue;
      }
      if (spec.name == "rabbit_login_method") {
        std::optional<std::string> mechanism = sasl_mechanism_for(value);
        if (!mechanism)
          fail(v->origin, key, "bad value '" + v->value + "' (expected PLAIN, AMQPLAIN or EXTERNAL over AMQP 1.0)");
        value = *mechanism;
      }
      if (!amqp) {
        extra_ignored_.push_back({g, std::string(spec.name), v->origin, "does not apply to memory://"});
        continue;
      }
      if (spec.name.starts_with("ssl_") && !url.tls()) {
        extra_ignored_.push_back({g, std::string(spec.name), v->origin, "TLS is off (set ssl = true or use amqps://)"});
        continue;
      }
      entry(g, spec.name, value, v->origin);
      url.set_default(spec.query_key, value);  // a query option in the URL wins, as in oslo
    }
  }

  Settings& settings_;
  Expander expander_;
  std::vector<ConfigEntry> entries_;
  std::vector<IgnoredOption> extra_ignored_;
  std::vector<std::pair<std::string, Resolved>> herald_query_;
  std::size_t prefetch_ = 0;
};

// "OS_OSLO_MESSAGING_RABBIT__SSL" → {"oslo_messaging_rabbit", "ssl"}.
std::optional<Key> environment_key(const std::string& name) {
  if (!name.starts_with("OS_")) return std::nullopt;
  const std::size_t split = name.find("__", 3);
  if (split == std::string::npos || split == 3 || split + 2 >= name.size()) return std::nullopt;
  Key key{normalise_group_name(name.substr(3, split - 3)), to_lower(name.substr(split + 2))};
  if (!is_herald_group(key.first)) return std::nullopt;
  // [DEFAULT] is every library's group: only the options Herald knows are taken from it.
  if (key.first == kDefaultGroup && !find_option(key.first, key.second)) return std::nullopt;
  return key;
}

}  // namespace

Config load_config(const std::vector<ConfigText>& files, const ConfigSources& sources) {
  Settings settings;
  for (const ConfigValue& v : sources.defaults)
    settings.add(v.group, v.option, {v.value, {v.source.empty() ? "default" : v.source, 0}, Layer::defaults});
  for (const ConfigText& file : files)
    for (IniAssignment& a : parse_ini(file.text, file.name))
      settings.add(std::move(a.group), std::move(a.option), {std::move(a.value), {file.name, a.line}, Layer::file});
  for (const auto& [name, value] : sources.environment)
    if (std::optional<Key> key = environment_key(name))
      settings.add(key->first, key->second, {value, {name, 0}, Layer::environment});
  for (const ConfigValue& v : sources.overrides)
    settings.add(v.group, v.option, {v.value, {v.source.empty() ? "override" : v.source, 0}, Layer::override});

  Builder builder(settings);
  std::vector<std::pair<std::string, Resolved>> herald_query;
  for (const std::string& option : settings.options_of(kHeraldGroup))
    if (option != "send_timeout" && !option.starts_with("outbox_"))
      herald_query.emplace_back(option, *builder.get(kHeraldGroup, option));
  builder.set_herald_query_options(std::move(herald_query));
  return builder.build();
}

}  // namespace herald::detail

namespace herald::detail {

std::string mask_url(const std::string& url) {
  try {
    return UrlBuilder(url).masked();
  } catch (const ConfigError&) {
    return "****";  // unparseable: it may hold anything
  }
}

}  // namespace herald::detail
