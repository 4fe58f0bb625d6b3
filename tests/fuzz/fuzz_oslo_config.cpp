// libFuzzer target: the oslo.config loader must accept a file or throw ConfigError, never crash,
// and never show a transport URL password in what it prints.
//
// The input is split at the first NUL byte: before it, the config file; after it, the value of
// OS_DEFAULT__TRANSPORT_URL (so the environment layer is fuzzed too).

#include "config/oslo_config.hpp"

#include <herald/config.hpp>
#include <herald/error.hpp>
#include <herald/transport_url.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  herald::ConfigSources sources;
  if (nul != std::string_view::npos)
    sources.environment["OS_DEFAULT__TRANSPORT_URL"] = std::string(input.substr(nul + 1));
  try {
    const herald::Config config =
        herald::detail::load_config({{"fuzz.conf", std::string(input.substr(0, nul))}}, sources);
    // The URL the loader builds must parse again; its masked forms (the one to print and the
    // one `config show` lists) must hide every password.
    (void)herald::TransportUrl::parse(config.transport_url);
    auto require_masked = [](const std::string& shown) {
      const herald::TransportUrl url = herald::TransportUrl::parse(shown);
      for (const herald::TransportHost& host : url.hosts())
        if (!host.password.empty() && host.password != "****") std::abort();
    };
    require_masked(config.masked_transport_url());
    for (const herald::ConfigEntry& entry : config.entries)
      if (entry.option == "transport_url") require_masked(entry.value);
    (void)config.describe();
    (void)config.ignored_summary();
  } catch (const herald::ConfigError&) {
  }
  return 0;
}
