#include <herald/error.hpp>

namespace herald {
namespace {

class HeraldCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "herald"; }
  std::string message(int value) const override {
    if (value == 0) return "success";
    switch (static_cast<Errc>(value)) {
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::invalid_config:
        return "invalid configuration";
      case Errc::invalid_url:
        return "invalid transport URL";
      case Errc::decode_error:
        return "message cannot be decoded";
      case Errc::unsupported_version:
        return "unsupported oslo envelope version";
      case Errc::unknown_priority:
        return "unknown notification priority";
      case Errc::transport_error:
        return "transport error";
      case Errc::unauthorized:
        return "authentication failed";
      case Errc::unreachable:
        return "broker unreachable";
      case Errc::timeout:
        return "timed out";
      case Errc::overflow:
        return "queue or window full";
      case Errc::closed:
        return "closed";
      case Errc::rejected:
        return "rejected by the broker";
      case Errc::precondition_failed:
        return "declared with other flags or arguments";
      case Errc::tls_failed:
        return "TLS handshake failed";
    }
    return "unknown herald error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const HeraldCategory category;  // immutable, stateless
  return category;
}

std::error_code make_error_code(Errc code) noexcept { return {static_cast<int>(code), error_category()}; }

}  // namespace herald
