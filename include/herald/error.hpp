#pragma once
/// @file error.hpp
/// Herald's error model: an error-code enum, its four groups, and one exception class per group.

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

/// The groups of Errc values. Each group has exactly one exception class, so code that catches
/// a class knows which codes it can see, and a code tells which class carries it.
enum class ErrorGroup {
  argument,   ///< invalid_argument: the caller passed what the API refuses (a bug) -> ArgumentError
  config,     ///< invalid_config, invalid_url: bad configuration -> ConfigError
  decode,     ///< decode_error, unsupported_version, unknown_priority: a bad body -> DecodeError
  transport,  ///< every other code: the broker, the network, a bound or a closed object -> TransportError
};

/// The group `code` belongs to.
ErrorGroup group_of(Errc code) noexcept;

/// Base of every exception Herald throws: always one of the four classes below, the one of the
/// code's group. code() is in herald::error_category().
/// **Thread safety:** immutable value types, like std::system_error.
class Error : public std::system_error {
 public:
  Errc errc() const noexcept { return static_cast<Errc>(code().value()); }
  ErrorGroup group() const noexcept { return group_of(errc()); }

 protected:
  /// `code` must belong to `group` (asserted: constructing it otherwise is a Herald bug).
  Error(ErrorGroup group, Errc code, const std::string& what);
};

/// A caller bug: an argument the API refuses (JSON that is not an object, a null registry, a
/// listen() without bindings). code() is Errc::invalid_argument.
class ArgumentError : public Error {
 public:
  explicit ArgumentError(const std::string& what);
};

/// Bad configuration: a URL, an option struct, a config or routing file. The message names the
/// file, line or field. code() is Errc::invalid_config or Errc::invalid_url.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what);
  ConfigError(Errc code, const std::string& what);
};

/// A message body that cannot be decoded: code() is Errc::decode_error, unsupported_version or
/// unknown_priority.
class DecodeError : public Error {
 public:
  explicit DecodeError(const std::string& what);
  DecodeError(Errc code, const std::string& what);
};

/// The broker, the network or a resource refused or failed: code() is any Errc of
/// ErrorGroup::transport (transport_error, unauthorized, unreachable, timeout, overflow, closed,
/// rejected, precondition_failed, tls_failed).
class TransportError : public Error {
 public:
  explicit TransportError(const std::string& what);
  TransportError(Errc code, const std::string& what);
};

/// Throws the exception class of `code`'s group.
[[noreturn]] void throw_error(Errc code, const std::string& what);

}  // namespace herald

template <>
struct std::is_error_code_enum<herald::Errc> : std::true_type {};
