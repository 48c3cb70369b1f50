#include "common/time.hpp"

#include <cctype>
#include <ctime>
#include <limits>

namespace haes {

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
    int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return std::nullopt;
      }
      number = number * 10 + (text[i] - '0');
      ++i;
    }
    int64_t unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's': unit_ms = 1000; break;
        case 'm': unit_ms = 60'000; break;
        case 'h': unit_ms = 3'600'000; break;
        case 'd': unit_ms = 86'400'000; break;
        default: return std::nullopt;
      }
      ++i;
    } else {
      return std::nullopt;  // a bare number has no unit
    }
    if (number > (std::numeric_limits<int64_t>::max() - total) / unit_ms) {
      return std::nullopt;
    }
    total += number * unit_ms;
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms % 1000 != 0) {
    return out + std::to_string(ms) + "ms";
  }
  int64_t s = ms / 1000;
  const struct {
    int64_t size;
    char unit;
  } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (const auto& u : units) {
    if (s >= u.size) {
      out += std::to_string(s / u.size);
      out += u.unit;
      s %= u.size;
    }
  }
  return out;
}

std::string format_time(SysTime t) {
  int64_t ms = to_unix_ms(t);
  if (ms == 0) {
    return "never";
  }
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

SysTime now_sys() { return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()); }

}  // namespace haes
