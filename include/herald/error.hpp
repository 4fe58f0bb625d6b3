#pragma once
/// @file error.hpp
/// Herald's error model: one exception base, a few subclasses, and an error-code enum.

#include <stdexcept>
#include <string>
#include <system_error>

namespace herald {

/// Error codes used in exceptions, send results and `flush()` results. Every value is an error:
/// success is an empty std::error_code (value 0, which no Errc has).
enum class Errc {
  invalid_argument = 1,  ///< a bad argument to a function (misuse)
  invalid_config,        ///< a bad option value; the message names the field
  invalid_url,           ///< a transport URL that cannot be parsed
  decode_error,          ///< a message body that is not a valid oslo notification
  unsupported_version,   ///< an `oslo.version` Herald does not understand
  unknown_priority,      ///< a body whose priority is not one of the seven
  transport_error,       ///< the transport failed (connection lost, broker error)
  unauthorized,          ///< the broker refused the credentials
  unreachable,           ///< no broker host could be reached
  timeout,               ///< an operation did not complete in time
  overflow,              ///< a bounded queue or window was full
  closed,                ///< the object was stopped or closed
  rejected,              ///< the broker refused the message (queue full: reject-publish; unroutable)
  precondition_failed,   ///< an exchange or queue exists with other flags or arguments
  tls_failed,            ///< the TLS handshake failed: certificate verification, host name, client certificate
};

/// The category of Errc values ("herald"). **Thread safety:** a stateless, immutable object.
const std::error_category& error_category() noexcept;

/// Makes a std::error_code from an Errc (found by ADL).
std::error_code make_error_code(Errc code) noexcept;

/// Base of every exception Herald throws. code() is in herald::error_category().
/// **Thread safety:** immutable value types, like std::system_error.
class Error : public std::system_error {
 public:
  Error(Errc code, const std::string& what) : std::system_error(make_error_code(code), what) {}
};

/// Bad configuration: a URL, an option struct, a routing file. The message names the field.
class ConfigError : public Error {
 public:
  using Error::Error;
  explicit ConfigError(const std::string& what) : Error(Errc::invalid_config, what) {}
};

/// A message body that cannot be decoded: code() is Errc::decode_error, unsupported_version or
/// unknown_priority.
class DecodeError : public Error {
 public:
  using Error::Error;
  explicit DecodeError(const std::string& what) : Error(Errc::decode_error, what) {}
};

/// A transport failure reported synchronously (e.g. when a listener cannot be created).
class TransportError : public Error {
 public:
  using Error::Error;
  explicit TransportError(const std::string& what) : Error(Errc::transport_error, what) {}
};

}  // namespace herald

template <>
struct std::is_error_code_enum<herald::Errc> : std::true_type {};
