#pragma once
// Durations and wall-clock times as the whole agent writes and reads them.
// Durations in config and commands look like "500ms", "1s", "5m", "2h",
// "1d" or combinations such as "1h30m". Persisted times are wall-clock
// (system_clock) so that a restart or another agent reads the same instant.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace haes {

using Duration = std::chrono::milliseconds;
using SysTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

// "500ms", "1s", "5m", "1h30m", "2d". Returns nullopt for anything else,
// including negative numbers, empty strings and overflow.
std::optional<Duration> parse_duration(std::string_view text);

// Shortest exact form: 1500ms -> "1500ms", 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(Duration d);

// RFC 3339 in UTC with milliseconds: "2026-11-22T13:05:00.123Z"; epoch 0 -> "never".
std::string format_time(SysTime t);

SysTime now_sys();
inline int64_t to_unix_ms(SysTime t) { return t.time_since_epoch().count(); }
inline SysTime from_unix_ms(int64_t ms) { return SysTime(Duration(ms)); }

}  // namespace haes
