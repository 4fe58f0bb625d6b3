// The routing notifier driver, reading oslo's routing_config YAML:
//   <group>:
//     <driver name>:
//       accepted_events: [glob, ...]       # fnmatch on event_type
//       accepted_priorities: [glob, ...]   # fnmatch on the lower-case priority
// Within one driver's rules every key present must match (OR inside a key); a driver without
// rules always matches. Each selected driver runs at most once per notification. Unlike oslo
// (whose sub-drivers fail to load) the file is read eagerly, so mistakes fail at construction.

#include "notifier/notifier_state.hpp"

#include <herald/error.hpp>

#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

namespace herald::detail {
namespace {

struct Route {
  std::string driver_name;
  std::size_t driver_index = 0;
  bool has_events = false;
  std::vector<std::string> events;
  bool has_priorities = false;
  std::vector<std::string> priorities;
};

bool any_glob(const std::vector<std::string>& globs, const std::string& text) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return ::fnmatch(glob.c_str(), text.c_str(), 0) == 0; });
}

std::vector<std::string> read_globs(const YAML::Node& node, const std::string& where, bool lower) {
  if (!node.IsSequence()) throw ConfigError("routing_config: " + where + " must be a list");
  std::vector<std::string> globs;
  for (const YAML::Node& item : node) {
    if (!item.IsScalar()) throw ConfigError("routing_config: " + where + " entries must be strings");
    std::string glob = item.as<std::string>();
    if (lower) std::transform(glob.begin(), glob.end(), glob.begin(), [](unsigned char c) { return std::tolower(c); });
    globs.push_back(std::move(glob));
  }
  return globs;
}

class RoutingDriver final : public NotifierDriver {
 public:
  RoutingDriver(const std::string& path, NotifierState& state) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
      throw ConfigError("routing_config: cannot read '" + path + "': " + e.what());
    }
    if (!root.IsMap()) throw ConfigError("routing_config: '" + path + "' must map group names to drivers");
    for (const auto& group : root) {
      const std::string group_name = group.first.as<std::string>();
      if (!group.second.IsMap()) throw ConfigError("routing_config: group '" + group_name + "' must be a mapping");
      for (const auto& entry : group.second) {
        Route route;
        route.driver_name = entry.first.as<std::string>();
        const std::string where = group_name + "." + route.driver_name;
        const YAML::Node& rules = entry.second;
        if (rules && !rules.IsNull()) {
          if (!rules.IsMap()) throw ConfigError("routing_config: " + where + " must be a mapping of rules");
          if (rules["accepted_events"]) {
            route.has_events = true;
            route.events = read_globs(rules["accepted_events"], where + ".accepted_events", false);
          }
          if (rules["accepted_priorities"]) {
            route.has_priorities = true;
            route.priorities = read_globs(rules["accepted_priorities"], where + ".accepted_priorities", true);
          }
        }
        route.driver_index = driver_index(route.driver_name, state);
        routes_.push_back(std::move(route));
      }
    }
  }

  void notify(Notification& n, int retry) override {
    std::vector<bool> selected(drivers_.size(), false);
    const std::string priority(to_string(n.priority));
    for (const Route& route : routes_) {
      if (route.has_events && !any_glob(route.events, n.event_type)) continue;
      if (route.has_priorities && !any_glob(route.priorities, priority)) continue;
      selected[route.driver_index] = true;
    }
    for (std::size_t i = 0; i < drivers_.size(); ++i)
      if (selected[i]) drivers_[i]->notify(n, retry);
  }

 private:
  std::size_t driver_index(const std::string& name, NotifierState& state) {
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return i;
    drivers_.push_back(make_notifier_driver(name, state, false));
    names_.push_back(name);
    return drivers_.size() - 1;
  }

  std::vector<Route> routes_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<NotifierDriver>> drivers_;
};

}  // namespace

std::unique_ptr<NotifierDriver> make_routing_driver(const std::string& path, NotifierState& state) {
  return std::make_unique<RoutingDriver>(path, state);
}

}  // namespace herald::detail
