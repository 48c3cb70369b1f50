// Elasticsearch's simple index patterns (common/pattern.hpp).
#include "common/pattern.hpp"

#include <gtest/gtest.h>

namespace haes {
namespace {

TEST(SimpleMatch, StarMatchesAnyRunEverythingElseItself) {
  EXPECT_TRUE(simple_match("orders", "orders"));
  EXPECT_FALSE(simple_match("orders", "orders-1"));
  EXPECT_TRUE(simple_match("orders*", "orders"));
  EXPECT_TRUE(simple_match("orders*", "orders-2026.12"));
  EXPECT_FALSE(simple_match("orders*", "my-orders"));
  EXPECT_TRUE(simple_match("*", ""));
  EXPECT_TRUE(simple_match("*", ".security"));
  EXPECT_TRUE(simple_match("logs-*-prod", "logs-web-prod"));
  EXPECT_FALSE(simple_match("logs-*-prod", "logs-web-dev"));
  EXPECT_TRUE(simple_match("*a*b", "xxaxxab"));  // backtracks past the first 'a'
  EXPECT_TRUE(simple_match("a**", "a"));
  EXPECT_FALSE(simple_match("", "a"));
  EXPECT_TRUE(simple_match("", ""));
  EXPECT_FALSE(simple_match("a?", "ab")) << "no '?' wildcard in ES patterns";
}

}  // namespace
}  // namespace haes
