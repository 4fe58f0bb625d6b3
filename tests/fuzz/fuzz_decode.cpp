// libFuzzer target: decode() must accept or throw herald::Error, never crash, hang or leak; what
// it accepts must survive an encode/decode round trip unchanged.

#include <herald/codec.hpp>
#include <herald/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  herald::Notification decoded;
  try {
    decoded = herald::decode(body);
  } catch (const herald::Error&) {
    return 0;
  }
  for (auto version : {herald::EnvelopeVersion::v1, herald::EnvelopeVersion::v2}) {
    const std::string encoded = herald::encode(decoded, version);
    const herald::Notification again = herald::decode(encoded);  // must not throw
    check(again.message_id == decoded.message_id);
    check(again.publisher_id == decoded.publisher_id);
    check(again.event_type == decoded.event_type);
    check(again.priority == decoded.priority);
    check(again.timestamp == decoded.timestamp);
    check(again.unique_id == decoded.unique_id);
    check(herald::encode(again, version) == encoded);
  }
  return 0;
}
