// SnapshotSync's pure rules: snapshot names, the index expression, retention.
#include "sync/naming.hpp"

#include <gtest/gtest.h>

namespace haes::sync {
namespace {

SysTime at(int64_t ms) { return from_unix_ms(ms); }

TEST(SnapshotName, IsLowercaseSortableAndSaysWhereAndWhen) {
  // 2026-11-25T05:01:48.123Z
  std::string n = snapshot_name(7, at(1795582908123), "DC-East 1");
  EXPECT_EQ(n, "haes-e7-20261125t050148.123z-dc-east_1");
  EXPECT_TRUE(is_ours(n));
  EXPECT_FALSE(is_ours("nightly-2026.11.26"));
  EXPECT_LT(snapshot_name(7, at(1795582908123), "dc1"), snapshot_name(7, at(1795582908124), "dc1"));
}

TEST(IndexExpression, ExcludesSystemIndicesUnlessAsked) {
  EXPECT_EQ(index_expression({"*"}, false), "*,-.*");
  EXPECT_EQ(index_expression({"logs-*", "-logs-tmp*"}, false), "logs-*,-logs-tmp*,-.*");
  EXPECT_EQ(index_expression({"*"}, true), "*");
}

std::vector<SnapshotEntry> five() {
  // s1 oldest ... s5 newest, one hour apart
  std::vector<SnapshotEntry> v;
  for (int i = 1; i <= 5; ++i) {
    v.push_back({"haes-e1-s" + std::to_string(i), at(i * 3600'000LL), "SUCCESS"});
  }
  return v;
}

TEST(Retention, KeepsTheNewestByCount) {
  auto victims = retention_victims(five(), 3, Duration(0), "", at(6 * 3600'000LL));
  EXPECT_EQ(victims, (std::vector<std::string>{"haes-e1-s2", "haes-e1-s1"}));
}

TEST(Retention, NeverDeletesTheLastSyncedOneNorOneInProgress) {
  auto snaps = five();
  snaps[1].state = "IN_PROGRESS";  // s2
  auto victims = retention_victims(snaps, 1, Duration(0), "haes-e1-s1", at(6 * 3600'000LL));
  EXPECT_EQ(victims, (std::vector<std::string>{"haes-e1-s4", "haes-e1-s3"}));
}

TEST(Retention, DeletesByAgeAndLeavesOtherToolsSnapshotsAlone) {
  auto snaps = five();
  snaps.push_back({"nightly-1", at(0), "SUCCESS"});
  auto victims = retention_victims(snaps, 10, std::chrono::hours(3), "", at(6 * 3600'000LL) + Duration(1));
  EXPECT_EQ(victims, (std::vector<std::string>{"haes-e1-s3", "haes-e1-s2", "haes-e1-s1"}));
}

}  // namespace
}  // namespace haes::sync
