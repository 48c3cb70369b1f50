// The status model: every next_step, and the renderings agree with the model.
#include "status/report.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace haes {
namespace {

using namespace std::chrono_literals;

const char* kConfig = R"(
spoe: {listen: 127.0.0.1:12345}
clusters:
  - name: dc1
    nodes: [{name: es1, url: http://127.0.0.1:9201}]
  - name: dc2
    nodes: [{name: es1, url: http://127.0.0.1:9202}]
preferred: dc1
)";

const char* kSyncConfig = R"(
sync:
  interval: 5m
  repository: {name: haes, settings: {location: /x}}
)";

class StatusTest : public ::testing::Test {
 protected:
  StatusTest() : config_(parse(kConfig)) {
    state_.epoch = 4;
    state_.active = "dc1";
    state_.changed_by = "controller";
    state_.reason = "first start";
    round_.seq = 9;
    round_.at = now_;
    round_.clusters = {cluster("dc1", Health::kGreen), cluster("dc2", Health::kYellow)};
    verdict_.allow = true;
    verdict_.cluster = "dc1";
    verdict_.epoch = 4;
    verdict_.clusters = {ClusterVerdict{"dc1", true, false, true, Health::kGreen, "active", {}},
                         ClusterVerdict{"dc2", false, false, false, Health::kYellow, "passive", {}}};
  }

  static Config parse(const std::string& text) {
    auto c = parse_config(text, "test.yaml");
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return *c;
  }

  static ClusterObservation cluster(const std::string& name, Health h) {
    NodeObservation n;
    n.name = "es1";
    n.health = h;
    n.latency = 1500us;
    n.version = "8.15.0";
    if (h == Health::kUnreachable) {
      n.failure = ProbeFailure::kTimeout;
    }
    return ClusterObservation{name, h, h == Health::kGreen ? "" : "status " + std::string(to_string(h)), {n}};
  }

  StatusReport build() {
    StatusInputs in;
    in.config = &config_;
    in.state = &state_;
    in.verdict = &verdict_;
    in.round = &round_;
    in.now = now_;
    in.store = "local /var/lib/haes/state.pb";
    in.sync = config_.sync ? &sync_ : nullptr;
    in.vitals = vitals_.empty() ? nullptr : &vitals_;
    in.readiness = readiness_ ? &*readiness_ : nullptr;
    in.drills = with_drills_ ? &drills_ : nullptr;
    return build_status(in);
  }

  Config config_;
  State state_;
  HealthRound round_;
  Verdict verdict_;
  SyncStatus sync_;
  std::vector<ClusterVitals> vitals_;
  std::optional<ReadinessVerdict> readiness_;
  bool with_drills_ = false;
  std::vector<DrillReport> drills_;
  SysTime now_ = from_unix_ms(1'795'000'000'000);
};

TEST_F(StatusTest, AHealthyArmedPairNeedsNothing) {
  StatusReport r = build();
  EXPECT_EQ(r.next, NextStep::kNothing);
  EXPECT_EQ(r.next_text, "nothing: the active cluster serves and automatic failover is armed");
  ASSERT_EQ(r.clusters.size(), 2u);
  EXPECT_EQ(r.clusters[0].role, ClusterRole::kActive);
  EXPECT_EQ(r.clusters[1].role, ClusterRole::kPassive);
  EXPECT_EQ(r.clusters[0].nodes[0].version, "8.15.0");
}

TEST_F(StatusTest, NoClusterMayServeComesFirst) {
  verdict_.allow = false;
  verdict_.cluster.clear();
  verdict_.reason = "dc1 red for 3 rounds";
  state_.fenced = {"dc2"};
  StatusReport r = build();
  EXPECT_EQ(r.next, NextStep::kNoClusterMayServe);
  EXPECT_NE(r.next_text.find("NO cluster may take traffic (dc1 red for 3 rounds)"), std::string::npos);
  EXPECT_NE(r.next_text.find("haesctl failover --to CLUSTER"), std::string::npos);
}

TEST_F(StatusTest, AFencedClusterHealthyAgainIsTheOperatorsCall) {
  state_.active = "dc2";
  state_.fenced = {"dc1"};
  StatusReport r = build();
  EXPECT_EQ(r.next, NextStep::kFencedHealthy);
  EXPECT_EQ(r.next_text, "dc1 is green again but stays fenced; when you are ready: haesctl failback");
}

TEST_F(StatusTest, AFencedNonPreferredClusterIsSwitchedOverTo) {
  state_.active = "dc1";
  state_.fenced = {"dc2"};
  StatusReport r = build();
  EXPECT_NE(r.next_text.find("haesctl switchover --to dc2"), std::string::npos) << r.next_text;
}

TEST_F(StatusTest, WithSyncTheHintWarnsThatTheNextSyncReplacesTheFencedWrites) {
  config_ = parse(std::string(kConfig) + kSyncConfig);
  state_.active = "dc2";
  state_.fenced = {"dc1"};
  StatusReport r = build();
  EXPECT_NE(r.next_text.find("its next sync replaces the writes it took after the last sync point"), std::string::npos);
  state_.sync_hold = SyncHold{true, "operator bob", "rescue", now_};
  r = build();
  EXPECT_EQ(r.next_text.find("next sync replaces"), std::string::npos) << "held: nothing will replace them";
}

TEST_F(StatusTest, AFencedClusterStillDownMeansWait) {
  state_.active = "dc2";
  state_.fenced = {"dc1"};
  round_.clusters[0] = cluster("dc1", Health::kUnreachable);
  StatusReport r = build();
  EXPECT_EQ(r.next, NextStep::kFencedUnhealthy);
  EXPECT_NE(r.next_text.find("not healthy yet; nothing to do until it recovers"), std::string::npos);
}

TEST_F(StatusTest, PausedThenHeldDown) {
  state_.pause = PauseInfo{true, "operator bob", "maintenance", now_ - 1min, {}};
  state_.hold_down_until = now_ + 2min;
  EXPECT_EQ(build().next, NextStep::kPaused);
  state_.pause = PauseInfo{};
  StatusReport r = build();
  EXPECT_EQ(r.next, NextStep::kHeldDown);
  EXPECT_NE(r.next_text.find("held down until " + format_time(now_ + 2min)), std::string::npos);
  state_.pause = PauseInfo{true, "operator bob", "", now_ - 10min, now_ - 1min};  // expired pause
  state_.hold_down_until = now_ - 1s;
  EXPECT_EQ(build().next, NextStep::kNothing);
}

TEST_F(StatusTest, TheRpoIsKnownOnlyForASyncIntoTheCurrentPassiveCluster) {
  config_ = parse(std::string(kConfig) + kSyncConfig);
  state_.last_sync = SyncPoint{"haes-e4-x-dc1", "dc1", "dc2", 4, now_ - 90s, now_ - 60s};
  StatusReport r = build();
  ASSERT_TRUE(r.sync);
  ASSERT_TRUE(r.sync->passive_data_age_seconds);
  EXPECT_EQ(*r.sync->passive_data_age_seconds, 90);
  state_.active = "dc2";  // the roles moved: dc2's data is no passive copy any more
  state_.fenced = {"dc1"};
  r = build();
  EXPECT_FALSE(r.sync->passive_data_age_seconds);
  EXPECT_EQ(render_status_json(r)["sync"]["passive_data_age_seconds"], -1);
  EXPECT_NE(render_status_text(r).find("passive_data_age_seconds: unknown (dc1 has not received a sync since the "
                                       "roles changed)"),
            std::string::npos);
}

TEST_F(StatusTest, TextAndJsonAreRenderingsOfTheSameReport) {
  config_ = parse(std::string(kConfig) + kSyncConfig);
  sync_.operation = SyncOperation::kSync;
  sync_.step = "restore haes-e4 on dc2";
  sync_.repository["dc1"] = RepositoryState{RepositoryRole::kWriter, ""};
  sync_.repository["dc2"] = RepositoryState{RepositoryRole::kError, "404 repository_missing_exception"};
  StatusReport r = build();
  std::string t = render_status_text(r);
  nlohmann::json j = render_status_json(r);
  EXPECT_NE(t.find("epoch: 4\nactive: dc1\nmay_take_traffic: dc1\n"), std::string::npos) << t;
  EXPECT_EQ(j["epoch"], 4);
  EXPECT_EQ(j["may_take_traffic"], "dc1");
  EXPECT_NE(t.find("running: sync: restore haes-e4 on dc2 since"), std::string::npos) << t;
  EXPECT_EQ(j["sync"]["running"], "sync: restore haes-e4 on dc2");
  EXPECT_NE(t.find("repository_dc2: error: 404 repository_missing_exception\n"), std::string::npos) << t;
  EXPECT_EQ(j["sync"]["repository"]["dc2"], "error: 404 repository_missing_exception");
  EXPECT_EQ(j["sync"]["last_result"], "");
  EXPECT_NE(t.find("dc2: passive, yellow, no traffic — status yellow\n  es1 http://127.0.0.1:9202: yellow in 1.5ms (ES "
                   "8.15.0)\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(j["clusters"][1]["nodes"][0]["health"], "yellow");
  EXPECT_EQ(j["next_step_kind"], "nothing");
  EXPECT_TRUE(t.ends_with("next_step: " + r.next_text));
  EXPECT_EQ(t.find("\n\n"), std::string::npos) << "an empty line would end the admin reply";
}

TEST_F(StatusTest, StateGaugesComeFromTheReport) {
  round_.clusters[0] = cluster("dc1", Health::kRed);
  MetricsText m;
  export_status_metrics(m, build());
  std::string t = m.take();
  EXPECT_NE(t.find("haes_epoch 4\n"), std::string::npos);
  EXPECT_NE(t.find("haes_cluster_health{cluster=\"dc1\",state=\"red\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_health{cluster=\"dc1\",state=\"green\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_next_step{step=\"nothing\"} 1\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("haes_sync_"), std::string::npos) << "no sync: section, no sync gauges";
}

// Cluster vitals: dc1 read 4 s ago with one node's disk critical, dc2 never
// read (its last attempt failed).
class VitalsStatusTest : public StatusTest {
 protected:
  VitalsStatusTest() {
    ClusterVitals dc1;
    dc1.cluster = "dc1";
    dc1.nodes_configured = 1;
    VitalsReading g;
    g.at = now_ - std::chrono::seconds(4);
    g.from = "es1";
    NodeVitals a;
    a.name = "dc1-n1";
    a.disk_used_ratio = 0.915;
    a.heap_used_ratio = 0.3;
    NodeVitals b;
    b.name = "dc1-n2";
    b.disk_used_ratio = 0.2;
    b.heap_used_ratio = 0.5;
    g.nodes = {a, b};
    g.health.status = "green";
    g.health.number_of_nodes = 2;
    g.health.number_of_data_nodes = 2;
    g.read_only_indices = {"logs"};
    dc1.judgement = judge_vitals(g, 1, {});
    dc1.last = g;
    ClusterVitals dc2;
    dc2.cluster = "dc2";
    dc2.nodes_configured = 1;
    dc2.error = "no node answered the vitals requests (es1: connect)";
    vitals_ = {dc1, dc2};
    config_ = parse(std::string(kConfig) + "vitals: {interval: 30s}\n");
  }
};

TEST_F(VitalsStatusTest, ALinePerClusterWithTheWorstDiskAndHeapAndTheNodeCount) {
  StatusReport r = build();
  ASSERT_EQ(r.vitals.size(), 2u);
  EXPECT_EQ(r.vitals[0].age_seconds, 4);
  EXPECT_EQ(r.vitals[1].age_seconds, -1);
  std::string t = render_status_text(r);
  EXPECT_NE(t.find("# vitals\ndc1: critical, disk 91.5% max (dc1-n1), heap 50% max (dc1-n2), nodes 2/1 configured, "
                   "unassigned_shards 0, read_only_indices 1, read 4s ago from es1 — disk 91.5% used on dc1-n1, over "
                   "90%; 1 index(es) read-only by the flood-stage disk watermark, writes refused: logs\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("dc2: not read yet (every 30s) — last read failed: no node answered the vitals requests (es1: "
                   "connect)\n# readiness\n"),
            std::string::npos)
      << t;
  nlohmann::json j = render_status_json(r)["vitals"];
  EXPECT_EQ(j["interval_ms"], 30000);
  EXPECT_EQ(j["clusters"][0]["level"], "critical");
  EXPECT_EQ(j["clusters"][0]["disk_max_node"], "dc1-n1");
  EXPECT_DOUBLE_EQ(j["clusters"][0]["nodes"][1]["heap_used_ratio"].get<double>(), 0.5);
  EXPECT_EQ(j["clusters"][0]["read_only_indices"], nlohmann::json::array({"logs"}));
  EXPECT_EQ(j["clusters"][0]["nodes_present"], 2);
  EXPECT_EQ(j["clusters"][1]["read"], false);
  EXPECT_EQ(j["clusters"][1]["level"], "unknown");
}

TEST_F(VitalsStatusTest, GaugesForReadClustersOnly) {
  MetricsText m;
  export_status_metrics(m, build());
  std::string t = m.take();
  EXPECT_NE(t.find("haes_cluster_disk_used_ratio{cluster=\"dc1\",node=\"dc1-n1\"} 0.915\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_heap_used_ratio{cluster=\"dc1\",node=\"dc1-n2\"} 0.5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_nodes{cluster=\"dc1\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_nodes_configured{cluster=\"dc2\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_read_only_block{cluster=\"dc1\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_unassigned_shards{cluster=\"dc1\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_vitals_timestamp_seconds{cluster=\"dc1\"} 1794999996\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_vitals_timestamp_seconds{cluster=\"dc2\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_vitals_read_ok{cluster=\"dc2\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_vitals_level{cluster=\"dc1\",level=\"critical\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("haes_cluster_vitals_level{cluster=\"dc2\",level=\"unknown\"} 1\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("haes_cluster_disk_used_ratio{cluster=\"dc2\""), std::string::npos) << "never read: no value";
  EXPECT_EQ(t.find("haes_cluster_nodes{cluster=\"dc2\"}"), std::string::npos);
}

TEST_F(VitalsStatusTest, VitalsOffSaysSo) {
  config_ = parse(std::string(kConfig) + "vitals: {interval: 0s}\n");
  vitals_.clear();
  std::string t = render_status_text(build());
  EXPECT_NE(t.find("# vitals\nvitals: not read (vitals.interval: 0s)\n"), std::string::npos) << t;
}

// Passive readiness and the last drill (docs/readiness.md, docs/drills.md).
TEST_F(StatusTest, ReadinessIsOneLineWithDetailsJsonAndGauges) {
  ReadinessVerdict v;
  v.target = "dc2";
  v.active = "dc1";
  v.answer = ReadinessAnswer::kNo;
  v.reasons = {{ReadinessProblem::kDiskHeadroom,
                "dc2 disk would reach 93% with dc1's 1.2 TB (+10% margin), over "
                "the high watermark (90%)"},
               {ReadinessProblem::kHeap, "dc2 heap over 85% before taking any load: dc2-n1 90%"}};
  v.disk_used_ratio = 0.3;
  v.disk_projected_ratio = 0.93;
  v.active_data_bytes = 1319413953331;
  v.shards_needed = 10;
  v.shard_limit = 2000;
  readiness_ = v;
  with_drills_ = true;
  DrillReport d;
  d.id = "d1";
  d.started_at = now_ - 60s;
  d.running = false;
  d.ok = true;
  d.write_block_to = 1500ms;
  d.write_block_back = 2000ms;
  drills_.push_back(d);
  StatusReport r = build();
  const std::string t = render_status_text(r);
  EXPECT_NE(t.find("# readiness\nready to take over: no: dc2 disk would reach 93% with dc1's 1.2 TB (+10% margin), "
                   "over the high watermark (90%) (dc2)\n  also: dc2 heap over 85% before taking any load: dc2-n1 "
                   "90%\n  disk: 30% used on dc2, 93% with dc1's 1.2 TB and the margin\n  shards: 10 needed, limit "
                   "2000\nlast_drill: d1 passed, 60s ago, write_unavailable 1.500s / 2.000s\n# store\n"),
            std::string::npos)
      << t;
  const auto j = render_status_json(r);
  EXPECT_EQ(j["readiness"]["ready"], "no");
  EXPECT_EQ(j["readiness"]["reasons"][1]["code"], "heap");
  EXPECT_EQ(j["readiness"]["last_drill"]["id"], "d1");
  MetricsText m;
  export_status_metrics(m, r);
  const std::string g = m.take();
  EXPECT_NE(g.find("haes_passive_ready 0\n"), std::string::npos) << g;
  EXPECT_NE(g.find("haes_passive_readiness_problem{reason=\"disk_headroom\"} 1\n"), std::string::npos) << g;
  EXPECT_NE(g.find("haes_passive_readiness_problem{reason=\"heap\"} 1\n"), std::string::npos) << g;
  EXPECT_NE(g.find("haes_passive_readiness_problem{reason=\"index_closed\"} 0\n"), std::string::npos) << g;
  EXPECT_NE(g.find("haes_drill_last_ok 1\n"), std::string::npos) << g;
  EXPECT_NE(g.find("haes_drill_last_timestamp_seconds 1794999940\n"), std::string::npos) << g;
  EXPECT_NE(g.find("haes_drill_last_write_unavailable_seconds{direction=\"back\"} 2\n"), std::string::npos) << g;
}

TEST_F(StatusTest, ReadinessUnknownBeforeTheFirstRoundAndNoDrillGaugesWithoutADrill) {
  with_drills_ = true;
  StatusReport r = build();
  const std::string t = render_status_text(r);
  EXPECT_NE(t.find("# readiness\nready to take over: unknown (no health round yet)\nlast_drill: none\n"),
            std::string::npos)
      << t;
  MetricsText m;
  export_status_metrics(m, r);
  const std::string g = m.take();
  EXPECT_EQ(g.find("haes_passive_ready"), std::string::npos) << g;
  EXPECT_EQ(g.find("haes_drill_last_ok"), std::string::npos) << g;
}

}  // namespace
}  // namespace haes
