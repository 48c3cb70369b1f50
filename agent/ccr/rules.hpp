#pragma once
// CCR mode's decisions (docs/ccr.md): pure functions, no I/O, no Asio, time
// a parameter; unit-tested in tests/unit/agent/ccr. The CcrService sends the
// requests and hands the answers here: what they mean (follower lag, the
// indices not followed at all), what a promotion does (pause_follow, close,
// unfollow, open for every follower of the patterns) and whether a step
// succeeded are decided here.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "common/state.hpp"
#include "common/time.hpp"
#include "controller/controller.hpp"
#include "sync/answers.hpp"

namespace haes {

// A follower index as the passive cluster reports it (or a leader index it
// does not follow at all).
// clang-format off
#define HAES_FOLLOW_STATUS_LIST(X)   \
  X(kActive, "active")               \
  X(kPaused, "paused")               \
  X(kNotFollowed, "not_followed")
// clang-format on
HAES_ENUM(FollowStatus, uint8_t, "status", HAES_FOLLOW_STATUS_LIST)

// The steps that make a follower index a regular index (ES's
// uni-directional disaster recovery runbook), in their order; and the two
// that make a replicated data stream writable first (its write index is a
// follower that cannot be closed: promote the stream, roll it over onto a
// new regular write index, then the runbook for its backing indices).
// clang-format off
#define HAES_PROMOTE_STEP_LIST(X)                  \
  X(kPauseFollow, "pause_follow")                  \
  X(kClose, "close")                               \
  X(kUnfollow, "unfollow")                         \
  X(kOpen, "open")                                 \
  X(kPromoteDataStream, "promote_data_stream")     \
  X(kRollover, "rollover")
// clang-format on
HAES_ENUM(PromoteStep, uint8_t, "step", HAES_PROMOTE_STEP_LIST)

// clang-format off
#define HAES_PROMOTION_RESULT_LIST(X) \
  X(kOk, "ok")                        \
  X(kFailed, "failed")                \
  X(kForced, "forced")
// clang-format on
HAES_ENUM(PromotionResult, uint8_t, "result", HAES_PROMOTION_RESULT_LIST)

namespace ccr {

using nlohmann::json;
using sync::Answer;

// ---- the answers ------------------------------------------------------------

struct FollowerInfo {
  std::string index;
  std::string remote_cluster;
  std::string leader_index;
  FollowStatus status = FollowStatus::kActive;  // active or paused
};

// GET /<expr>/_ccr/info: {"follower_indices":[{follower_index, remote_cluster,
// leader_index, status}]}. Errors (kBadResponse) name the cluster and what
// was wrong; an HTTP error is kEsError with ES's summary.
Result<std::vector<FollowerInfo>> parse_follow_info(const Answer& a, const std::string& cluster);

struct FollowerStats {
  std::string index;
  int64_t operations_behind = 0;    // sum over shards of max(0, leader_gcp - follower_gcp)
  int64_t since_last_read_ms = -1;  // the largest over shards; -1: never read
  int64_t read_exceptions = 0;      // over shards
  std::string first_exception;      // "connect_transport_exception: ..." ("" when none)
};

// GET /_ccr/stats: follow_stats.indices[].shards[] with
// leader_global_checkpoint, follower_global_checkpoint,
// time_since_last_read_millis, read_exceptions[].
Result<std::vector<FollowerStats>> parse_follow_stats(const Answer& a, const std::string& cluster);

// A data stream as GET /_data_stream reports it.
struct DataStreamInfo {
  std::string name;
  std::vector<std::string> indices;  // backing indices, oldest first; the last is the write index
  bool replicated = false;           // followed by CCR: no rollover until promoted
};

// GET /_data_stream: {"data_streams":[{name, indices:[{index_name}], replicated}]}.
Result<std::vector<DataStreamInfo>> parse_data_streams(const Answer& a, const std::string& cluster);

// The data stream a backing index belongs to, by Elasticsearch's naming
// (".ds-<stream>-<yyyy.MM.dd>-<generation>", and ".ds-<stream>-<generation>"
// before 7.11); "" for any other index.
std::string backing_data_stream(std::string_view index);

// The followers `info` lists plus those only `stats` knows (a follow task
// without an info entry, taken as following the leader index of its own
// name, active): ES's follow info resolves `_all` without hidden indices
// and data streams, so a data stream's backing indices are missing from it.
std::vector<FollowerInfo> with_task_followers(std::vector<FollowerInfo> info, const std::vector<FollowerStats>& stats);

// GET /_cat/indices?format=json&h=index,status: the index names.
Result<std::vector<std::string>> parse_index_names(const Answer& a, const std::string& cluster);

// Whether `index` is selected by `patterns` ("*" wildcards; "-pattern"
// excludes; a dot-index only by a pattern that starts with a dot). A data
// stream's backing index is selected by its own name or else by its
// stream's (each with the excludes), as ES's auto-follow matches it:
// `logs-*` selects ".ds-logs-app-2026.12.03-000001".
bool selected(const std::vector<std::string>& patterns, const std::string& index);

// ---- the report -------------------------------------------------------------

struct IndexLag {
  std::string index;
  std::string leader_index;
  FollowStatus status = FollowStatus::kActive;
  int64_t operations_behind = -1;   // -1: no stats (paused, not followed)
  int64_t since_last_read_ms = -1;  // -1: unknown
  int64_t read_exceptions = 0;
  std::string first_exception;
  int64_t lag_seconds = -1;  // since the follower was last seen caught up (-1: never)
};

// Everything one poll learned, with what it could not read.
struct Observation {
  std::string passive;
  std::string active;
  std::optional<std::vector<std::string>> leader_indices;  // the active cluster's (nullopt: unreadable)
  std::optional<std::vector<FollowerInfo>> followers;      // the passive cluster's
  std::optional<std::vector<FollowerStats>> stats;
  std::vector<std::string> errors;  // one line per failed read
};

// What the poll remembers from one round to the next: when each follower
// was last seen caught up (zero operations behind).
using CaughtUp = std::map<std::string, SysTime, std::less<>>;

struct CcrStatus {
  std::vector<std::string> patterns;  // sync.ccr.indices
  Duration poll_interval{0};
  bool manage = false;
  std::string passive;
  std::string active;
  SysTime checked_at{};  // 0: never
  bool read_ok = false;
  std::vector<std::string> errors;
  std::vector<IndexLag> indices;          // the followers of the patterns, by name
  std::vector<std::string> not_followed;  // leader indices of the patterns without a follower
  // The RPO if the active cluster failed now: the largest lag_seconds; unset
  // when unknown (no read yet, a follower never caught up, an index not followed).
  std::optional<int64_t> lag_seconds;
  std::string lag_why;             // why unknown
  std::vector<std::string> setup;  // what manage created or what a check found missing
  // The last promotion, and a standing refusal of an automatic failover.
  std::string last_promotion;  // one line; "" when none
  SysTime last_promotion_at{};
  int64_t last_promotion_ms = -1;
  std::string blocked;     // "" when no failover is refused for want of promotion
  WriteBlock write_block;  // the state's marker (the fence), set by the status report from the state
};

// The report of one poll at `now`; updates `caught_up`.
CcrStatus judge(const Observation& obs, const std::vector<std::string>& patterns, CaughtUp& caught_up, SysTime now);

// The status blocker: a failover the controller would make (kNone) but a
// promotion refused shows as kCcrPromotion with its reason.
void apply_blocker(ControllerView& view, const CcrStatus& status);

// ---- fencing beyond HAProxy (docs/ccr.md, "Fencing") -------------------------

// After a failover the old active cluster's indices of the patterns are
// regular indices that clients bypassing HAProxy could still write to, and
// those writes would be deleted by `ccr refollow`: block them. What to do
// now, from the stored state alone: put the block on the fenced passive
// cluster (no marker yet), lift it from a cluster that is active again
// (the marker names it), or nothing.
enum class FenceAction { kNone, kBlock, kLift };
struct FenceStep {
  FenceAction action = FenceAction::kNone;
  std::string cluster;
};
FenceStep fence_step(const State& s, const std::string& passive);

// ---- the promotion ----------------------------------------------------------

struct StepRequest {
  std::string index;
  PromoteStep step = PromoteStep::kPauseFollow;
  std::string method;  // POST
  std::string path;    // "/logs/_ccr/pause_follow"
};

// The steps promoting `followers` (those of the patterns), index by index,
// in the runbook's order; a paused follower skips pause_follow.
std::vector<StepRequest> promotion_steps(const std::vector<FollowerInfo>& followers,
                                         const std::vector<std::string>& patterns);

// The steps that make the replicated data streams of the patterns writable
// on the cluster being promoted, before the followers' runbook: promote a
// replicated stream, and roll over every selected stream whose write index
// is still a follower (a retry after a rollover that failed). StepRequest's
// index is the stream's name.
std::vector<StepRequest> data_stream_steps(const std::vector<DataStreamInfo>& streams,
                                           const std::vector<FollowerInfo>& followers,
                                           const std::vector<std::string>& patterns);

// Steps grouped by their index (or data stream), in order: what one
// IndexPromotion runs.
std::vector<std::vector<StepRequest>> by_target(const std::vector<StepRequest>& steps);

// One step's answer: ok with {"acknowledged":true}; pause_follow of an index
// already paused (400 "no shard follow tasks") is ok too. Error: the step,
// the index, the cluster and ES's reason.
Result<void> judge_step(const StepRequest& step, const Answer& a, const std::string& cluster);

struct IndexPromotion {
  std::string index;  // a follower index, or a data stream's name
  bool ok = true;
  std::vector<PromoteStep> done;
  std::optional<PromoteStep> failed;
  std::string error;
  bool data_stream = false;
};

struct PromotionReport {
  std::string cluster;
  std::vector<IndexPromotion> indices;
  std::vector<std::string> errors;  // a failure before any step (follow info unreadable)
  bool ok() const;
  std::vector<std::string> not_promoted() const;
  // "promoted 3 follower index(es) on dc2 (logs-a, logs-b, logs-c)" or
  // "could not promote logs-b on dc2: unfollow: HTTP 400 ..."
  std::string summary() const;
};

// The journal line of one index's promotion.
std::string index_event_text(const IndexPromotion& p, const std::string& cluster);

// ---- set-up (sync.ccr.manage) -----------------------------------------------

// The remote cluster alias the passive cluster names the active one by.
std::string remote_alias(const std::string& configured, const std::string& active);
// The auto-follow pattern's name on the passive cluster.
std::string auto_follow_name(const std::string& alias);
// The body of PUT /_ccr/auto_follow/<name>.
json auto_follow_body(const std::string& alias, const std::vector<std::string>& patterns);
// The body of PUT /_cluster/settings setting the remote's seeds.
json remote_settings_body(const std::string& alias, const std::vector<std::string>& seeds);
// Whether a GET /_remote/info answer has `alias` connected; the reason when not.
std::optional<std::string> remote_problem(const Answer& a, const std::string& alias, const std::string& cluster);
// Whether a GET /_ccr/auto_follow answer has an active pattern from `alias`
// listing every include pattern of `patterns` (as written) under the
// leader's names; the reason when not (sync.ccr.manage: false checks it).
std::optional<std::string> auto_follow_problem(const Answer& a, const std::string& alias,
                                               const std::vector<std::string>& patterns, const std::string& cluster);

// ---- refollow ---------------------------------------------------------------

// The indices a refollow deletes on the passive cluster: those of the
// patterns that exist there, are not followers, and exist on the active one
// (each is then followed again from it).
std::vector<std::string> refollow_victims(const std::vector<std::string>& passive_indices,
                                          const std::vector<FollowerInfo>& passive_followers,
                                          const std::vector<std::string>& active_indices,
                                          const std::vector<std::string>& patterns);
// How a refollow deletes `victims` (refollow_victims): a data stream's
// backing indices by deleting the stream once (ES refuses to delete its
// write index alone; following the leader's backing indices creates the
// stream again, replicated), every other index by itself. Paths in order.
struct Deletion {
  std::string path;                  // "/logs-a" or "/_data_stream/logs-app"
  std::vector<std::string> indices;  // the victims it removes
  std::string data_stream;           // the stream deleted whole ("" for one index)
};
std::vector<Deletion> refollow_deletions(const std::vector<std::string>& victims);

// The leader indices of the patterns the passive cluster does not have at all.
std::vector<std::string> missing_followers(const std::vector<std::string>& passive_indices,
                                           const std::vector<std::string>& active_indices,
                                           const std::vector<std::string>& patterns);

}  // namespace ccr
}  // namespace haes
