#include "daemon/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace haes {

void setup_logging(LogLevel level) {
  auto logger = spdlog::stderr_logger_mt("haes");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(to_string(level))));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

spoe::LogFn spoe_log_sink() {
  return [](spoe::LogLevel level, std::string_view text) {
    switch (level) {
      case spoe::LogLevel::kDebug: spdlog::debug("[spoe] {}", text); break;
      case spoe::LogLevel::kInfo: spdlog::info("[spoe] {}", text); break;
      case spoe::LogLevel::kWarn: spdlog::warn("[spoe] {}", text); break;
      case spoe::LogLevel::kError: spdlog::error("[spoe] {}", text); break;
    }
  };
}

}  // namespace haes
