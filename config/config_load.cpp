// Config::load reads the files and hands their texts to the loader; the process environment.
#include "config/oslo_config.hpp"

#include <herald/config.hpp>
#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;  // POSIX

namespace herald {

Config Config::load(const ConfigSources& sources) {
  std::vector<detail::ConfigText> texts;
  for (const std::string& path : sources.files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("config file " + path + ": cannot read (" + std::strerror(errno) + ")");
    std::ostringstream text;
    text << in.rdbuf();
    texts.push_back({path, text.str()});
  }
  Config config = detail::load_config(texts, sources);
  if (sources.logger && !config.ignored.empty()) sources.logger->warn("{}", config.ignored_summary());
  return config;
}

std::map<std::string, std::string> Config::process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    if (!text.starts_with("OS_")) continue;
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return out;
}

}  // namespace herald
