#pragma once
// Log set-up: one line per event on standard error,
// "2026-11-22T13:05:00.123Z info  [component] message", times in UTC.

#include <string_view>

#include "config/config.hpp"
#include "spoe/server.hpp"

namespace haes {

void setup_logging(LogLevel level);
// Routes the SPOP library's lines into the log as component "spoe".
spoe::LogFn spoe_log_sink();

}  // namespace haes
