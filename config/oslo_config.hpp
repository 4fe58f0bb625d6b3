#pragma once
// The oslo.config loader behind Config::load(), over texts already read (so the fuzzer and the
// unit tests need no files).

#include <herald/config.hpp>

#include <string>
#include <vector>

namespace herald::detail {

/// One configuration file: its name (for messages) and its text.
struct ConfigText {
  std::string name;
  std::string text;
};

/// Config::load() without the file reading: `files` replaces `sources.files`.
/// @throws ConfigError naming the origin and the option.
Config load_config(const std::vector<ConfigText>& files, const ConfigSources& sources);

/// `url` (a transport URL) with its passwords and secret-looking query values masked; `****`
/// when it does not parse.
std::string mask_url(const std::string& url);

}  // namespace herald::detail
