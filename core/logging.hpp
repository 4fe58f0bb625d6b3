#pragma once
// Logger plumbing: Herald never uses spdlog's default logger or registry.

#include <spdlog/logger.h>

#include <memory>

namespace herald::detail {

/// Returns `logger` when set, else a new private (unregistered) stderr logger named "herald".
std::shared_ptr<spdlog::logger> logger_or_default(std::shared_ptr<spdlog::logger> logger);

}  // namespace herald::detail
