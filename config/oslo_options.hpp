#pragma once
// The oslo.config options Herald reads: their groups, types and what each maps onto.

#include "core/secret_names.hpp"  // is_secret_name, shared with TransportUrl::to_string

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace herald::detail {

/// How a value is parsed.
enum class OptionType {
  string,   ///< any text
  url,      ///< a transport URL (secret: its password is masked)
  boolean,  ///< true/false, yes/no, on/off, 1/0 (any case)
  integer,  ///< a whole number within [min, max]
  seconds,  ///< a decimal number of seconds within [min, max]
  list,     ///< comma-separated, items stripped, empty items dropped
  multi,    ///< every assignment adds one value (oslo MultiStrOpt)
};

/// What Herald does with an option.
enum class OptionUse {
  herald,           ///< a Config field
  query,            ///< an amqp:// URL query option named `query_key`
  alias,            ///< a deprecated name of `alias_group` / `alias_option`
  not_implemented,  ///< an oslo option Herald does not implement: listed in Config::ignored
};

struct OptionSpec {
  std::string_view group;
  std::string_view name;
  OptionType type;
  OptionUse use;
  std::string_view query_key = {};  ///< OptionUse::query: the Herald URL query option
  double min = 0;
  double max = 0;
  std::string_view alias_group = {};
  std::string_view alias_option = {};
  std::string_view note = {};  ///< why it is not implemented, or how it maps
};

inline constexpr std::string_view kDefaultGroup = "DEFAULT";
inline constexpr std::string_view kNotificationsGroup = "oslo_messaging_notifications";
inline constexpr std::string_view kRabbitGroup = "oslo_messaging_rabbit";
/// Herald's own group: `send_timeout`, and every other key passed to the URL query as is.
inline constexpr std::string_view kHeraldGroup = "herald";

/// Every option of the table.
std::span<const OptionSpec> option_specs();
/// The spec of `group` / `name`, or null.
const OptionSpec* find_option(std::string_view group, std::string_view name);
/// Whether unknown options of `group` are reported (Herald's groups, but not DEFAULT, which
/// every library of a service shares).
bool reports_unknown_options(std::string_view group);
/// `text` with ASCII letters lower-cased.
std::string to_lower(std::string_view text);
/// oslo's booleans: true/1/yes/on and false/0/no/off in any case; nullopt for anything else.
std::optional<bool> parse_oslo_bool(std::string_view text);
/// The SASL mechanism for oslo's `rabbit_login_method` over AMQP 1.0: PLAIN for PLAIN and
/// AMQPLAIN (AMQP 0-9-1's variant of PLAIN), EXTERNAL for EXTERNAL; nullopt for the others.
std::optional<std::string> sasl_mechanism_for(std::string_view login_method);
/// A group name as oslo.config normalises it: `DEFAULT` as is, any other lower-cased.
std::string normalise_group_name(std::string_view group);

}  // namespace herald::detail
