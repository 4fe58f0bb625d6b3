// libFuzzer target: TransportUrl::parse must accept or throw ConfigError, never crash, and mask
// passwords in to_string().

#include <herald/error.hpp>
#include <herald/transport_url.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  try {
    const herald::TransportUrl parsed = herald::TransportUrl::parse(url);
    const std::string text = parsed.to_string();
    for (const herald::TransportHost& host : parsed.hosts())
      if (!host.password.empty() && text.find(":****@") == std::string::npos) std::abort();
  } catch (const herald::ConfigError&) {
  }
  return 0;
}
