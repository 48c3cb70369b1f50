#pragma once
// Test support: one health round over the two clusters dc1 and dc2, each
// with the given verdict (unit tests of the rules that read a round).
#include <cstdint>

#include "common/health.hpp"

namespace haes::test {

inline HealthRound round_of(Health dc1, Health dc2, uint64_t seq = 1) {
  HealthRound r;
  r.seq = seq;
  ClusterObservation a;
  a.name = "dc1";
  a.health = dc1;
  ClusterObservation b;
  b.name = "dc2";
  b.health = dc2;
  r.clusters = {a, b};
  return r;
}

}  // namespace haes::test
