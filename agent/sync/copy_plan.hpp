#pragma once
// The repository copy (sync.repository.copy, docs/sync.md "Two sites without
// a shared file system"): which steps a sync runs, in which direction the
// copy goes, the rsync command line of each phase and what rsync's report
// says. Pure (no I/O, no Asio), unit-tested (tests/unit/agent/sync/copy_plan_test.cpp);
// repository_copy.cpp runs what this decides.
//
// The order is the whole safety argument. An Elasticsearch fs repository has
// immutable blobs (indices/**, snap-*.dat, meta-*.dat) and a few mutable
// root files (index-N, index.latest) that name the snapshots. The blobs go
// first, the root files last, so the target never names a snapshot whose
// files are not all there; an interrupted copy leaves the target's old root
// in place (valid for the previous snapshot) and the next run resumes.
// Nothing is deleted on the target until its new root no longer names it and
// the passive cluster has finished restoring.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/enum_names.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "sync/plan.hpp"

namespace haes {

// The steps of one sync, in order.
// clang-format off
#define HAES_SYNC_STEP_LIST(X)         \
  X(kSnapshot, "snapshot")             \
  X(kCopyBlobs, "copy_blobs")          \
  X(kCopyRoot, "copy_root")            \
  X(kVerifyCopy, "verify_copy")        \
  X(kRestore, "restore")               \
  X(kRecordPoint, "record_point")      \
  X(kRetention, "retention")           \
  X(kCopyAfterRetention, "copy_after_retention") \
  X(kPrune, "prune")
// clang-format on
HAES_ENUM(SyncStep, uint8_t, "step", HAES_SYNC_STEP_LIST)

// One rsync run of the copy.
// clang-format off
#define HAES_COPY_PHASE_LIST(X) \
  X(kBlobs, "blobs")            \
  X(kRoot, "root")              \
  X(kVerify, "verify")          \
  X(kPrune, "prune")
// clang-format on
HAES_ENUM(CopyPhase, uint8_t, "phase", HAES_COPY_PHASE_LIST)

namespace sync {

// The steps of a sync. Without a copy (one shared repository): snapshot,
// restore, record, retention. With one: snapshot, copy blobs, copy root
// files, verify the copy, restore, record, retention on the source, the
// root files again (retention wrote a new one), then prune the target.
std::vector<SyncStep> sync_steps(bool copy);

// Where one copy goes: from the active cluster's repository to the passive
// cluster's (Plan::source -> Plan::target), so after a failover it goes the
// other way and each repository is written by one side only: its own
// cluster while active, the copy while passive.
struct CopyRoute {
  std::string from_cluster;
  std::string to_cluster;
  std::string from;  // rsync source, ends with '/'
  std::string to;    // rsync destination, ends with '/'
};
// kConfig when a cluster has no location (the config's cross-checks prevent it).
Result<CopyRoute> copy_route(const Plan& p, const RepositoryCopyConfig& c);

// The directory rsync keeps partly transferred files in, inside the
// target repository (resumed by the next run; never a name ES reads).
inline constexpr std::string_view kPartialDir = ".haes-rsync-partial";

// The argv of one phase (argv[0] = rsync_command):
//   kBlobs   everything but the root-level index-* and index.latest; never deletes
//   kRoot    only index-* and index.latest, compared by checksum; after the
//            transfer, deletes the target's root files the source no longer
//            has (a stale higher index-N would otherwise win)
//   kVerify  kRoot as a dry run: rsync must find nothing to change
//   kPrune   deletes what the source no longer has, transfers nothing
std::vector<std::string> rsync_argv(const RepositoryCopyConfig& c, CopyPhase phase, const CopyRoute& r);

// The remote shell (rsync -e) of a route: ssh_command ("" : rsync's default,
// for a local copy too). For a remote location with io_timeout set and a
// shell that is ssh, ssh's own keepalive is appended
// (-o ServerAliveInterval=ceil(io_timeout/3 s) -o ServerAliveCountMax=3):
// rsync's --timeout counts its own keep-alive writes as activity, so a path
// that silently holds every packet (a firewall DROP) is only noticed by ssh
// waiting for the server's answers. Options already in ssh_command come
// first and win (ssh keeps the first value of each option).
std::string remote_shell(const RepositoryCopyConfig& c, const CopyRoute& r);

// What rsync --stats reports.
struct RsyncStats {
  bool found = false;    // the stats block was there
  uint64_t files = 0;    // "Number of regular files transferred"
  uint64_t bytes = 0;    // "Total transferred file size" (file data, not protocol bytes)
  uint64_t deleted = 0;  // "Number of deleted files"
};
RsyncStats parse_rsync_stats(std::string_view output);

// The error of a failed rsync run, one line: what ran, rsync's exit code
// and its meaning, and the last line of its output.
std::string rsync_failure(CopyPhase phase, const CopyRoute& r, int exit_code, int signal, bool timed_out,
                          std::string_view output);

// kVerify's judgement: the root files at the target equal the source's.
Result<void> judge_verify(const RsyncStats& s, const CopyRoute& r);

// The snapshot's metadata as the passive cluster reads it after the copy
// (GET _snapshot/<repo>/<snapshot> there): it must be SUCCESS; otherwise
// the copy is incomplete and nothing is restored.
Result<void> judge_copied_snapshot(const Answer& a, const std::string& snapshot, const CopyRoute& r);

}  // namespace sync
}  // namespace haes
