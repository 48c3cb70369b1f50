#include "sync/naming.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace haes::sync {

std::string snapshot_name(uint64_t epoch, SysTime at, const std::string& cluster) {
  std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::system_clock::duration>(at));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dt%H%M%S", &tm);
  char msbuf[8];
  std::snprintf(msbuf, sizeof msbuf, ".%03dz", static_cast<int>(to_unix_ms(at) % 1000));
  std::string c;
  for (char ch : cluster) {
    unsigned char u = static_cast<unsigned char>(ch);
    c += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : (ch == '-' || ch == '.' ? ch : '_');
  }
  return "haes-e" + std::to_string(epoch) + "-" + buf + msbuf + "-" + c;
}

bool is_ours(const std::string& s) { return s.rfind("haes-e", 0) == 0; }

std::string index_expression(const std::vector<std::string>& patterns, bool include_system) {
  std::string out;
  for (const auto& p : patterns) {
    out += (out.empty() ? "" : ",") + p;
  }
  if (!include_system) {
    out += ",-.*";
  }
  return out;
}

std::vector<std::string> retention_victims(std::vector<SnapshotEntry> snaps, int64_t keep, Duration max_age,
                                           const std::string& last_synced, SysTime now) {
  snaps.erase(std::remove_if(snaps.begin(), snaps.end(), [](const SnapshotEntry& e) { return !is_ours(e.name); }),
              snaps.end());
  std::sort(snaps.begin(), snaps.end(), [](const SnapshotEntry& a, const SnapshotEntry& b) {
    return a.start > b.start || (a.start == b.start && a.name > b.name);
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < snaps.size(); ++i) {
    const auto& e = snaps[i];
    if (e.name == last_synced || e.state == "IN_PROGRESS" || e.state == "STARTED") {
      continue;
    }
    bool beyond_count = static_cast<int64_t>(i) >= keep;
    bool too_old = max_age.count() > 0 && e.start < now - max_age;
    if (beyond_count || too_old) {
      out.push_back(e.name);
    }
  }
  return out;
}

}  // namespace haes::sync
