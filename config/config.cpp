// Config: display and conversion into Herald's option structs (pure; config_load.cpp reads
// files and the environment).
#include "config/oslo_config.hpp"

#include <herald/config.hpp>
#include <herald/error.hpp>

#include <algorithm>

namespace herald {

std::string ConfigOrigin::to_string() const {
  if (line > 0) return source + ":" + std::to_string(line);
  return source;
}

std::string Config::masked_transport_url() const { return detail::mask_url(transport_url); }

std::string Config::ignored_summary() const {
  if (ignored.empty()) return {};
  std::string out = "configuration: " + std::to_string(ignored.size()) + " option(s) not used by Herald:";
  for (const IgnoredOption& option : ignored)
    out += " [" + option.group + "] " + option.option + " (" + option.origin.to_string() + ": " + option.reason + ");";
  out.pop_back();
  return out;
}

std::string Config::describe() const {
  std::string out = "# Effective Herald configuration (secrets masked); origins in comments.\n";
  // One section per group, in the order a reader expects.
  auto rank = [](const std::string& group) {
    static const std::string kOrder[] = {"DEFAULT", "oslo_messaging_notifications", "oslo_messaging_rabbit"};
    for (int i = 0; i < 3; ++i)
      if (group == kOrder[i]) return i;
    return 3;
  };
  std::vector<ConfigEntry> sorted = entries;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const ConfigEntry& a, const ConfigEntry& b) { return rank(a.group) < rank(b.group); });
  std::string group;
  for (const ConfigEntry& entry : sorted) {
    if (entry.group != group) {
      group = entry.group;
      out += "\n[" + group + "]\n";
    }
    std::string value = entry.value;
    for (std::size_t pos = 0; (pos = value.find('\n', pos)) != std::string::npos; pos += 2)
      value.insert(pos + 1, "  ");  // continuation lines stay valid INI
    out += entry.option + " = " + value + "  # " + entry.origin.to_string() + "\n";
  }
  out += "\n# Transport URL Herald opens:\n# " + masked_transport_url() + "\n";
  if (!ignored.empty()) {
    out += "\n# Not used by Herald:\n";
    for (const IgnoredOption& option : ignored)
      out += "#   [" + option.group + "] " + option.option + " (" + option.origin.to_string() + "): " + option.reason +
             "\n";
  }
  return out;
}

TransportOptions Config::transport_options() const {
  TransportOptions options;
  options.control_exchange = control_exchange;
  options.send_timeout = send_timeout;
  return options;
}

NotifierOptions Config::notifier_options() const {
  NotifierOptions options;
  options.topics = topics;
  options.drivers = drivers.empty() ? std::vector<std::string>{"noop"} : drivers;
  options.retry = retry;
  options.routing_config = routing_config;
  options.outbox.directory = outbox_dir;
  options.outbox.durability =
      outbox_commit_interval.count() == 0 ? OutboxDurability::per_message : OutboxDurability::group_commit;
  if (outbox_commit_interval.count() > 0) options.outbox.commit_interval = outbox_commit_interval;
  options.outbox.max_bytes = outbox_max_bytes;
  options.outbox.full_policy = outbox_full_policy == "fail_new"      ? OutboxFullPolicy::fail_new
                               : outbox_full_policy == "drop_oldest" ? OutboxFullPolicy::drop_oldest
                                                                     : OutboxFullPolicy::block;
  return options;
}

ServerOptions Config::server_options() const {
  ServerOptions options;
  if (executor_thread_pool_size) options.workers = executor_thread_pool_size;
  if (prefetch_count) options.credit_window = prefetch_count;
  return options;
}

}  // namespace herald
