#include "common/time.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsEveryUnitAndCombinations) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1s"), milliseconds(1000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(parse_duration("1d"), milliseconds(86'400'000));
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(ParseDuration, RefusesWhatIsNotADuration) {
  for (const char* bad : {"", "1", "s", "-1s", "1.5s", "1 s", "1x", "5mm", "ms", "1s ", "99999999999999999999s",
                          "9223372036854775807d"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(FormatDuration, ShortestExactForm) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(format_duration(milliseconds(86'400'000 + 1000)), "1d1s");
  for (const char* text : {"1s", "5m", "1h30m", "250ms", "2d"}) {
    EXPECT_EQ(format_duration(*parse_duration(text)), text);
  }
}

TEST(FormatTime, Rfc3339UtcWithMilliseconds) {
  EXPECT_EQ(format_time(from_unix_ms(0)), "never");
  EXPECT_EQ(format_time(from_unix_ms(1'795'000'000'123)), "2026-11-18T11:06:40.123Z");
}

}  // namespace
}  // namespace haes
