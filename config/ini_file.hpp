#pragma once
// oslo.config's INI dialect (oslo_config/iniparser.py), as a pure function over text.

#include <string>
#include <string_view>
#include <vector>

namespace herald::detail {

/// One `key = value` assignment of an INI file.
struct IniAssignment {
  std::string group;   ///< section name, normalised: "DEFAULT" as written, others lower-cased
  std::string option;  ///< the key, stripped
  std::string value;   ///< stripped; continuation lines joined with '\n'; one pair of quotes removed
  int line = 0;        ///< 1-based line of the key
};

/// Parses `text` with oslo.config's rules:
/// - `[section]` starts a group; names are case-insensitive except `DEFAULT`;
/// - `key = value` or `key: value` (the first of `=` and `:` separates);
/// - lines starting with `#` or `;` are comments (a `#` later in a line is part of the value);
/// - a line starting with a space or tab continues the previous value; a blank line ends it;
/// - one pair of matching `"` or `'` around the value on the key's line is removed.
/// @throws ConfigError "<file_name>:<line>: <problem>" for a syntax error.
std::vector<IniAssignment> parse_ini(std::string_view text, const std::string& file_name);

}  // namespace herald::detail
