// haes-agent: command line, then the Agent.
//   haes-agent --config FILE          run
//   haes-agent --check-config FILE    validate FILE, print a summary, exit 0 or 1
//   haes-agent --version | --help

#include <cstring>
#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "daemon/agent.hpp"

#ifndef HAES_VERSION
#define HAES_VERSION "dev"
#endif

namespace {

constexpr const char* kUsage =
    "usage: haes-agent --config FILE        run the agent\n"
    "       haes-agent --check-config FILE  validate FILE without starting (exit 0 or 1)\n"
    "       haes-agent --version\n"
    "Configuration reference: docs/config.md\n";

// One line per event on standard error,
// "2026-11-22T13:05:00.123Z info  [component] message", times in UTC.
void setup_logging(haes::LogLevel level) {
  auto logger = spdlog::stderr_logger_mt("haes");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(haes::to_string(level))));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

int usage_error(const std::string& message) {
  std::cerr << "haes-agent: " << message << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "haes-agent " << HAES_VERSION << "\n";
      return 0;
    }
    if (arg == "--config" || arg == "--check-config") {
      if (i + 1 >= argc) {
        return usage_error(arg + " needs a FILE");
      }
      if (!config_path.empty()) {
        return usage_error("only one configuration file");
      }
      check_only = arg == "--check-config";
      config_path = argv[++i];
      continue;
    }
    return usage_error("unknown argument \"" + arg + "\"");
  }
  if (config_path.empty()) {
    return usage_error("--config FILE is required");
  }

  auto config = haes::load_config(config_path);
  if (!config.ok()) {
    std::cerr << config.error().message << "\n";
    if (check_only) {
      std::cerr << config_path << ": INVALID\n";
    } else {
      std::cerr << "haes-agent: not started: the configuration has errors (see docs/config.md)\n";
    }
    return 1;
  }
  if (check_only) {
    std::cout << haes::check_config_summary(*config);
    return 0;
  }

  setup_logging(config->log.level);
  try {
    haes::Agent agent(std::move(config).value());
    return agent.run();
  } catch (const std::exception& e) {
    spdlog::critical("not started: {}", e.what());
    return 1;
  }
}
