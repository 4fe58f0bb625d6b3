#include "core/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace herald::detail {

std::shared_ptr<spdlog::logger> logger_or_default(std::shared_ptr<spdlog::logger> logger) {
  if (logger) return logger;
  auto created = std::make_shared<spdlog::logger>("herald", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  created->set_level(spdlog::level::info);
  return created;
}

}  // namespace herald::detail
