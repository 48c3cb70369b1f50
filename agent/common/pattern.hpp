#pragma once
// Elasticsearch's simple index patterns (Regex.simpleMatch): `*` matches
// any run of characters, every other character itself. What readiness
// (the synced indices) and CCR mode (the followed indices) select with.
#include <string_view>

namespace haes {

bool simple_match(std::string_view pattern, std::string_view name);

}  // namespace haes
