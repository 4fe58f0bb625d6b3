#include <herald/error.hpp>

#include <cassert>

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

ErrorGroup group_of(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
      return ErrorGroup::argument;
    case Errc::invalid_config:
    case Errc::invalid_url:
      return ErrorGroup::config;
    case Errc::decode_error:
    case Errc::unsupported_version:
    case Errc::unknown_priority:
      return ErrorGroup::decode;
    case Errc::transport_error:
    case Errc::unauthorized:
    case Errc::unreachable:
    case Errc::timeout:
    case Errc::overflow:
    case Errc::closed:
    case Errc::rejected:
    case Errc::precondition_failed:
    case Errc::tls_failed:
      return ErrorGroup::transport;
  }
  return ErrorGroup::transport;
}

Error::Error(ErrorGroup group, Errc code, const std::string& what) : std::system_error(make_error_code(code), what) {
  assert(group_of(code) == group && "an exception class constructed with a code of another group");
  (void)group;
}

ArgumentError::ArgumentError(const std::string& what) : Error(ErrorGroup::argument, Errc::invalid_argument, what) {}
ConfigError::ConfigError(const std::string& what) : Error(ErrorGroup::config, Errc::invalid_config, what) {}
ConfigError::ConfigError(Errc code, const std::string& what) : Error(ErrorGroup::config, code, what) {}
DecodeError::DecodeError(const std::string& what) : Error(ErrorGroup::decode, Errc::decode_error, what) {}
DecodeError::DecodeError(Errc code, const std::string& what) : Error(ErrorGroup::decode, code, what) {}
TransportError::TransportError(const std::string& what) : Error(ErrorGroup::transport, Errc::transport_error, what) {}
TransportError::TransportError(Errc code, const std::string& what) : Error(ErrorGroup::transport, code, what) {}

void throw_error(Errc code, const std::string& what) {
  switch (group_of(code)) {
    case ErrorGroup::argument:
      throw ArgumentError(what);
    case ErrorGroup::config:
      throw ConfigError(code, what);
    case ErrorGroup::decode:
      throw DecodeError(code, what);
    case ErrorGroup::transport:
      break;
  }
  throw TransportError(code, what);
}

}  // namespace herald
