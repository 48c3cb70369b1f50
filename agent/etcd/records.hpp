#pragma once
// What agents share through etcd besides the state (docs/failover.md,
// "Several agents"): each agent's record (under its lease: gone when the
// agent is) and the membership list (not leased: the failsafe topology).
// JSON, pure encode/decode, unit-tested.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/health.hpp"
#include "common/result.hpp"

namespace haes::etcd {

// How an agent sees one cluster, from its own probes.
struct ClusterSeen {
  std::string name;
  Health health = Health::kUnknown;
  int bad_rounds = 0;        // consecutive red or unreachable rounds
  bool red = false;          // the streak saw "reports red"
  bool unreachable = false;  // the streak saw "unreachable from here"
};

// One agent, as it publishes itself every poll.
struct AgentRecord {
  std::string name;
  uint64_t epoch = 0;  // the epoch it acts on
  std::string active;
  uint64_t members_version = 0;  // the membership list it has seen
  std::string peer_url;          // its health port: GET /peer (failsafe, status)
  std::string admin_url;         // its admin port, if any (forwarding)
  int64_t at_ms = 0;             // wall clock of the record, for display
  std::vector<ClusterSeen> clusters;
};

std::string encode_record(const AgentRecord& r);
// Error kBadResponse names what is wrong.
Result<AgentRecord> decode_record(std::string_view text);

struct Member {
  std::string peer_url;
  std::string admin_url;
};

// Every agent that ever joined the pair (until an operator forgets it).
struct Members {
  uint64_t version = 0;
  std::map<std::string, Member> agents;
};

std::string encode_members(const Members& m);
Result<Members> decode_members(std::string_view text);

}  // namespace haes::etcd
