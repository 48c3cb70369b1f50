// The repository copy's decisions: the order of a sync's steps, the
// direction by role, each rsync phase's command line, and what rsync's
// report and the passive cluster's answer mean.
#include "sync/copy_plan.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace haes::sync {
namespace {

RepositoryCopyConfig config() {
  RepositoryCopyConfig c;
  c.locations = {{"dc1", "/srv/a/haes"}, {"dc2", "es@dc2-es1:/srv/b/haes/"}};
  c.rsync_command = "rsync";
  c.timeout = std::chrono::minutes(30);
  return c;
}

Plan plan(const std::string& source, const std::string& target) {
  Plan p;
  p.epoch = 3;
  p.source = source;
  p.target = target;
  return p;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

size_t pos(const std::vector<SyncStep>& v, SyncStep s) { return std::find(v.begin(), v.end(), s) - v.begin(); }

TEST(SyncSteps, WithoutACopySnapshotThenRestore) {
  EXPECT_EQ(sync_steps(false), (std::vector<SyncStep>{SyncStep::kSnapshot, SyncStep::kRestore, SyncStep::kRecordPoint,
                                                      SyncStep::kRetention}));
}

TEST(SyncSteps, WithACopyBlobsThenRootThenVerifyBeforeTheRestore) {
  const auto s = sync_steps(true);
  ASSERT_EQ(s.size(), 9u);
  EXPECT_EQ(s[0], SyncStep::kSnapshot);
  EXPECT_EQ(s[1], SyncStep::kCopyBlobs);
  EXPECT_EQ(s[2], SyncStep::kCopyRoot);
  EXPECT_EQ(s[3], SyncStep::kVerifyCopy);
  EXPECT_EQ(s[4], SyncStep::kRestore);
  // Nothing is deleted at the target before its cluster finished restoring,
  // and only after the root that no longer names it was carried across.
  EXPECT_LT(pos(s, SyncStep::kRestore), pos(s, SyncStep::kPrune));
  EXPECT_LT(pos(s, SyncStep::kRetention), pos(s, SyncStep::kCopyAfterRetention));
  EXPECT_LT(pos(s, SyncStep::kCopyAfterRetention), pos(s, SyncStep::kPrune));
  EXPECT_EQ(s.back(), SyncStep::kPrune);
}

TEST(CopyRoute, FromTheActiveClustersRepositoryToThePassiveOnes) {
  auto r = copy_route(plan("dc1", "dc2"), config());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->from_cluster, "dc1");
  EXPECT_EQ(r->to_cluster, "dc2");
  EXPECT_EQ(r->from, "/srv/a/haes/");  // a trailing slash: the directory's contents
  EXPECT_EQ(r->to, "es@dc2-es1:/srv/b/haes/");
}

TEST(CopyRoute, AfterAFailoverTheOtherWay) {
  auto r = copy_route(plan("dc2", "dc1"), config());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, "es@dc2-es1:/srv/b/haes/");
  EXPECT_EQ(r->to, "/srv/a/haes/");
}

TEST(CopyRoute, AClusterWithoutALocationIsAConfigError) {
  auto r = copy_route(plan("dc1", "dc3"), config());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConfig);
  EXPECT_NE(r.error().message.find("dc3"), std::string::npos);
}

TEST(RsyncArgv, BlobsNeverTheRootFilesAndNeverDeletes) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  auto a = rsync_argv(config(), CopyPhase::kBlobs, r);
  EXPECT_EQ(a.front(), "rsync");
  EXPECT_TRUE(has(a, "--exclude=/index-*"));  // anchored: shard-level index-* files are blobs
  EXPECT_TRUE(has(a, "--exclude=/index.latest"));
  EXPECT_TRUE(has(a, "--partial-dir=.haes-rsync-partial"));
  EXPECT_TRUE(has(a, "--stats"));
  for (const auto& x : a) {
    EXPECT_EQ(x.find("--delete"), std::string::npos) << x;
  }
  EXPECT_EQ(a[a.size() - 2], "/srv/a/haes/");
  EXPECT_EQ(a.back(), "es@dc2-es1:/srv/b/haes/");
}

TEST(RsyncArgv, RootFilesOnlyByChecksumStaleOnesDeletedAfter) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  auto a = rsync_argv(config(), CopyPhase::kRoot, r);
  EXPECT_TRUE(has(a, "--checksum"));
  EXPECT_TRUE(has(a, "--delete-after"));
  const auto inc = std::find(a.begin(), a.end(), "--include=/index-*");
  const auto exc = std::find(a.begin(), a.end(), "--exclude=*");
  ASSERT_NE(inc, a.end());
  ASSERT_NE(exc, a.end());
  EXPECT_LT(inc, exc);  // rsync's first matching rule wins
  EXPECT_FALSE(has(a, "--dry-run"));
}

TEST(RsyncArgv, VerifyIsTheRootPhaseAsADryRun) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  auto root = rsync_argv(config(), CopyPhase::kRoot, r);
  auto v = rsync_argv(config(), CopyPhase::kVerify, r);
  EXPECT_TRUE(has(v, "--dry-run"));
  std::erase(v, std::string("--dry-run"));
  EXPECT_EQ(v, root);
}

TEST(RsyncArgv, PruneDeletesOnlyTransfersNothing) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  auto a = rsync_argv(config(), CopyPhase::kPrune, r);
  EXPECT_TRUE(has(a, "--delete-after"));
  EXPECT_TRUE(has(a, "--existing"));
  EXPECT_TRUE(has(a, "--ignore-existing"));
}

TEST(RsyncArgv, SshCommandAndBandwidthLimitWhenSet) {
  auto c = config();
  auto r = *copy_route(plan("dc1", "dc2"), c);
  EXPECT_FALSE(has(rsync_argv(c, CopyPhase::kBlobs, r), "-e"));
  c.ssh_command = "ssh -i /etc/haes/key -o BatchMode=yes";
  c.bandwidth_limit = 512;
  c.rsync_command = "/opt/rsync/bin/rsync";
  auto a = rsync_argv(c, CopyPhase::kBlobs, r);
  EXPECT_EQ(a.front(), "/opt/rsync/bin/rsync");
  auto e = std::find(a.begin(), a.end(), "-e");
  ASSERT_NE(e, a.end());
  EXPECT_EQ(*(e + 1), "ssh -i /etc/haes/key -o BatchMode=yes");  // one argument: rsync splits it
  EXPECT_TRUE(has(a, "--bwlimit=512"));
}

// io_timeout: rsync --timeout in whole seconds, rounded up (never shorter
// than asked), on every phase; 0s: no --timeout at all.
TEST(RsyncArgv, IoTimeoutInWholeSecondsRoundedUpOnEveryPhase) {
  auto c = config();
  auto r = *copy_route(plan("dc1", "dc2"), c);
  const auto timeouts = [](const std::vector<std::string>& a) {
    return std::count_if(a.begin(), a.end(), [](const std::string& x) { return x.starts_with("--timeout"); });
  };
  EXPECT_EQ(timeouts(rsync_argv(c, CopyPhase::kBlobs, r)), 0);
  c.io_timeout = std::chrono::minutes(2);
  for (auto phase : {CopyPhase::kBlobs, CopyPhase::kRoot, CopyPhase::kVerify, CopyPhase::kPrune}) {
    auto a = rsync_argv(c, phase, r);
    EXPECT_TRUE(has(a, "--timeout=120"));
    EXPECT_EQ(timeouts(a), 1);
  }
  c.io_timeout = std::chrono::milliseconds(1500);
  EXPECT_TRUE(has(rsync_argv(c, CopyPhase::kBlobs, r), "--timeout=2"));
  c.io_timeout = std::chrono::milliseconds(1);
  EXPECT_TRUE(has(rsync_argv(c, CopyPhase::kBlobs, r), "--timeout=1"));
}

// rsync's --timeout cannot see a path that silently holds every packet (its
// own keep-alive writes count as activity): for a remote location the ssh
// shell gets ssh's keepalive, which waits for the server's answers.
TEST(RemoteShell, SshGetsItsKeepaliveForARemoteLocationWhenIoTimeoutIsSet) {
  auto c = config();
  auto remote = *copy_route(plan("dc1", "dc2"), c);  // dc2 is es@dc2-es1:...
  EXPECT_EQ(remote_shell(c, remote), "") << "io_timeout 0s: nothing added";
  c.io_timeout = std::chrono::minutes(2);
  EXPECT_EQ(remote_shell(c, remote), "ssh -o ServerAliveInterval=40 -o ServerAliveCountMax=3");
  auto e = rsync_argv(c, CopyPhase::kRoot, remote);
  auto it = std::find(e.begin(), e.end(), "-e");
  ASSERT_NE(it, e.end());
  EXPECT_EQ(*(it + 1), "ssh -o ServerAliveInterval=40 -o ServerAliveCountMax=3");
  c.ssh_command = "/usr/bin/ssh -i /etc/haes/key -o ServerAliveInterval=5";
  EXPECT_EQ(remote_shell(c, remote),
            "/usr/bin/ssh -i /etc/haes/key -o ServerAliveInterval=5 -o ServerAliveInterval=40 "
            "-o ServerAliveCountMax=3")
      << "the operator's own option comes first, and ssh keeps the first";
  c.io_timeout = std::chrono::milliseconds(1500);
  c.ssh_command = "ssh";
  EXPECT_EQ(remote_shell(c, remote), "ssh -o ServerAliveInterval=1 -o ServerAliveCountMax=3");
  // Not ssh (a wrapper): left as it is.
  c.ssh_command = "/opt/haes/ssh-wrapper -v";
  EXPECT_EQ(remote_shell(c, remote), "/opt/haes/ssh-wrapper -v");
  // Both locations local: the shell is never used, nothing added.
  c.locations = {{"dc1", "/srv/a/haes"}, {"dc2", "/srv/b/haes"}};
  c.ssh_command = "";
  auto local = *copy_route(plan("dc1", "dc2"), c);
  EXPECT_EQ(remote_shell(c, local), "");
  EXPECT_FALSE(has(rsync_argv(c, CopyPhase::kBlobs, local), "-e"));
}

constexpr std::string_view kStats = R"(
Number of files: 5 (reg: 2, dir: 3)
Number of created files: 4 (reg: 2, dir: 2)
Number of deleted files: 3
Number of regular files transferred: 2
Total file size: 100,002 bytes
Total transferred file size: 1,100,002 bytes
Literal data: 100,002 bytes
Total bytes sent: 100,270
)";

TEST(ParseRsyncStats, FilesBytesDeletedWithDigitGrouping) {
  auto s = parse_rsync_stats(kStats);
  EXPECT_TRUE(s.found);
  EXPECT_EQ(s.files, 2u);
  EXPECT_EQ(s.bytes, 1100002u);
  EXPECT_EQ(s.deleted, 3u);
  EXPECT_FALSE(parse_rsync_stats("rsync: connection unexpectedly closed").found);
}

TEST(RsyncFailure, SaysWhatRanTheExitCodesMeaningAndTheRealReason) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  auto m = rsync_failure(CopyPhase::kBlobs, r, 255, 0, false,
                         "ssh: connect to host dc2-es1 port 22: Connection refused\r\n"
                         "rsync: connection unexpectedly closed (0 bytes received so far) [sender]\n"
                         "rsync error: unexplained error (code 255) at io.c(231) [sender=3.2.7]\n");
  EXPECT_NE(m.find("from dc1 to dc2 (blobs phase"), std::string::npos) << m;
  EXPECT_NE(m.find("exited with 255 (the remote shell failed"), std::string::npos) << m;
  EXPECT_NE(m.find("): ssh: connect to host dc2-es1 port 22: Connection refused; nothing restored"), std::string::npos)
      << m;
  // ssh's banner for a changed host key: the last two lines that say why.
  m = rsync_failure(CopyPhase::kBlobs, r, 255, 0, false,
                    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
                    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
                    "Host key for [dc2-es1]:22 has changed and you have requested strict checking.\n"
                    "Host key verification failed.\n"
                    "rsync: connection unexpectedly closed (0 bytes received so far) [sender]\n"
                    "rsync error: unexplained error (code 255) at io.c(231) [sender=3.2.7]\n");
  EXPECT_NE(m.find("): Host key for [dc2-es1]:22 has changed and you have requested strict checking. / Host key "
                   "verification failed.; nothing restored"),
            std::string::npos)
      << m;
  // A partial transfer: rsync's own complaint, not the --stats report after it.
  m = rsync_failure(CopyPhase::kBlobs, r, 23, 0, false,
                    "rsync: [sender] send_files failed to open \"/repo/indices/x/0/__a\": Permission denied (13)\n"
                    "\nNumber of files: 12 (reg: 10, dir: 2)\nNumber of regular files transferred: 9\n"
                    "Total file size: 1,024 bytes\nTotal transferred file size: 900 bytes\nLiteral data: 900 bytes\n"
                    "Matched data: 0 bytes\nFile list size: 0\nFile list generation time: 0.001 seconds\n"
                    "Total bytes sent: 1,400\nTotal bytes received: 190\n\n"
                    "sent 1,400 bytes  received 190 bytes  3,180.00 bytes/sec\n"
                    "total size is 1,024  speedup is 0.64\n"
                    "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at "
                    "main.c(1338) [sender=3.2.7]\n");
  EXPECT_NE(m.find("(partial transfer due to error): rsync: [sender] send_files failed to open "
                   "\"/repo/indices/x/0/__a\": Permission denied (13); nothing"),
            std::string::npos)
      << m;
  // Only generic lines: the last one.
  m = rsync_failure(CopyPhase::kBlobs, r, 12, 0, false, "rsync error: error in rsync protocol data stream (code 12)\n");
  EXPECT_NE(m.find(": rsync error: error in rsync protocol data stream (code 12); nothing"), std::string::npos) << m;
  EXPECT_NE(m.find("nothing restored"), std::string::npos) << m;
  EXPECT_NE(rsync_failure(CopyPhase::kRoot, r, -1, 9, false, "").find("killed by signal 9"), std::string::npos);
  EXPECT_NE(rsync_failure(CopyPhase::kRoot, r, -1, 15, true, "").find("sync.repository.copy.timeout"),
            std::string::npos);
}

TEST(JudgeVerify, NothingToSendOrDeleteIsAVerifiedCopy) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  RsyncStats s;
  s.found = true;
  EXPECT_TRUE(judge_verify(s, r));
  s.files = 1;
  auto bad = judge_verify(s, r);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCopyFailed);
  s.files = 0;
  s.deleted = 1;
  EXPECT_FALSE(judge_verify(s, r));
  EXPECT_FALSE(judge_verify(RsyncStats{}, r));  // no report: not verified
}

TEST(JudgeCopiedSnapshot, TheTargetMustReadItAsSuccess) {
  auto r = *copy_route(plan("dc1", "dc2"), config());
  Answer ok;
  ok.status = 200;
  ok.body = {{"snapshots", {{{"snapshot", "s1"}, {"state", "SUCCESS"}}}}};
  EXPECT_TRUE(judge_copied_snapshot(ok, "s1", r));
  EXPECT_FALSE(judge_copied_snapshot(ok, "s2", r));
  Answer missing;
  missing.status = 404;
  missing.es_type = "snapshot_missing_exception";
  missing.summary = "HTTP 404 snapshot_missing_exception: [haes:s1/u] is missing";
  auto e = judge_copied_snapshot(missing, "s1", r);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kCopyFailed);
  EXPECT_NE(e.error().message.find("is missing"), std::string::npos) << e.error().message;
  EXPECT_NE(e.error().message.find("nothing restored"), std::string::npos);
}

}  // namespace
}  // namespace haes::sync
