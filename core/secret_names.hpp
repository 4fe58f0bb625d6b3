#pragma once
// Which option names hold secrets: their values are masked wherever Herald prints them (URLs,
// `herald config show`).

#include <string_view>

namespace herald::detail {

/// True when `name` contains `password`, `passphrase`, `secret` or `token`.
inline bool is_secret_name(std::string_view name) noexcept {
  for (std::string_view word : {"password", "passphrase", "secret", "token"})
    if (name.find(word) != std::string_view::npos) return true;
  return false;
}

}  // namespace herald::detail
