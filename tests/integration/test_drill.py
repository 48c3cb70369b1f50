"""DR drills end to end (docs/drills.md): two essim clusters syncing
`orders*`, real HAProxy in front. A drill on a healthy pair passes and its
report agrees with what the test measured; a drill whose target turns red
mid-drill, and one whose agent is killed mid-drill, leave dc1 active and
writable; drill.interval runs drills by itself."""

import json
import threading
import time

from haestest.bed import Bed, sync_config
from haestest.faultproxy import FaultProxy
from haestest.proc import free_port, wait_for

CFG = {"vitals": {"interval": "1s", "timeout": "800ms"}, **sync_config()}


def start(procs, tmp_path, haproxy=False, drill=None, haproxy_port=None):
    cfg = json.loads(json.dumps(CFG))
    if drill:
        cfg["drill"] = drill
    bed = Bed.start(procs, tmp_path, haproxy=haproxy, agent_extra=cfg, haproxy_port=haproxy_port)
    bed.seed_orders()
    bed.wait_status(lambda s: s["readiness"]["ready"] == "yes" and s["readiness"]["indices_expected"] == 1,
                    timeout=20, what="dc2 ready, holding orders")
    return bed


def report(bed):
    r = bed.agent.haesctl("drill", "report", "--json")
    assert r.returncode == 0, r.stdout
    return json.loads(r.stdout)["reports"][-1]


def writable(cluster):
    status, _ = cluster.es("PUT", "/orders/_doc/probe?refresh=true", {"n": 1})
    return status in (200, 201)


def test_a_drill_passes_and_its_report_matches_what_was_measured(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=True)
    bed.hap.wait_servers("es_dc1", "UP")
    synced_at = time.time() - bed.status()["sync"]["passive_data_age_seconds"]
    dry = bed.agent.haesctl("drill", "--dry-run")
    assert dry.returncode == 0 and "1. readiness_before" in dry.stdout and "6. switch_back" in dry.stdout, dry.stdout
    assert bed.status()["active"] == "dc1" and "no drill yet" in bed.agent.haesctl("drill", "report").stdout
    began = time.time()
    r = bed.agent.haesctl("drill", "--json", timeout=180)
    took = time.time() - began
    assert r.returncode == 0, r.stdout
    rep = json.loads(r.stdout)
    assert rep["ok"] and not rep["running"] and rep["reason"] == "" and (rep["from"], rep["to"]) == ("dc1", "dc2")
    assert [s["step"] for s in rep["steps"]] == ["readiness_before", "switchover", "write", "read", "cleanup",
                                                 "switch_back", "readiness_after"]
    assert all(s["ok"] for s in rep["steps"])
    # Figures against the test's own clock.
    assert (rep["finished_at_ms"] - rep["started_at_ms"]) / 1000 <= took + 0.5
    assert sum(s["took_ms"] for s in rep["steps"]) / 1000 <= took + 0.5
    steps = {s["step"]: s["took_ms"] for s in rep["steps"]}
    assert 0 < rep["write_block_to_ms"] <= steps["switchover"]
    assert 0 < rep["write_block_back_ms"] <= steps["switch_back"]
    assert abs(rep["rpo_seconds"] - (rep["started_at_ms"] / 1000 - synced_at)) <= 2
    assert rep["documents_written"] == rep["documents_read"] == 20
    assert rep["readiness_before"] == "yes"
    assert rep["through"] == "" and rep["front_door_wait_ms"] is None  # no drill.through: straight to the nodes
    # The pair is as it was: dc1 active, traffic through HAProxy on dc1, no scratch index left.
    assert bed.status()["active"] == "dc1"
    bed.wait_traffic_on("dc1")
    assert writable(bed.dc1)
    for c in (bed.dc1, bed.dc2):
        assert not [i for i in c.state()["indices"] if i.startswith("haes-drill-")], c.state()["indices"]
    assert report(bed) == rep
    assert bed.metric("haes_drill_last_ok") == 1
    assert abs(bed.metric("haes_drill_last_timestamp_seconds") - rep["started_at_ms"] // 1000) <= 1
    assert bed.metric("haes_drills_total", result="passed") == 1
    text = bed.agent.haesctl("status").stdout
    assert f"last_drill: {rep['id']} passed" in text, text
    kinds = [e["kind"] for e in bed.events()]
    assert kinds.count("switchover") == 2 and "drill" in kinds


def sessions(hap, backend):
    return sum(int(row["stot"] or 0) for (b, _), row in hap.server_stats().items() if b == backend)


def test_a_drill_through_haproxy_writes_to_dc2_through_the_front_door(procs, tmp_path):
    """drill.through: the documents go through the real HAProxy (routed by the
    agent's SPOE verdict) and must land on dc2, none on dc1."""
    port = free_port()
    door = f"http://127.0.0.1:{port}"
    bed = start(procs, tmp_path, haproxy=True, haproxy_port=port, drill={"through": door})
    bed.hap.wait_servers("es_dc1", "UP")
    dry = bed.agent.haesctl("drill", "--dry-run")
    assert f"on dc2 through the front door {door}" in dry.stdout, dry.stdout
    before = sessions(bed.hap, "es_dc2")
    r = bed.agent.haesctl("drill", "--json", timeout=180)
    assert r.returncode == 0, r.stdout
    rep = json.loads(r.stdout)
    assert rep["ok"] and rep["through"] == door, rep
    steps = {s["step"]: s for s in rep["steps"]}
    assert 0 <= rep["front_door_wait_ms"] <= steps["write"]["took_ms"], rep
    assert f"through {door}" in steps["write"]["detail"], steps["write"]
    assert steps["read"]["detail"] == f"20 documents read back through {door}, all on dc2, none on dc1", steps["read"]
    # HAProxy carried them to dc2: the index creation, 20 documents and the count at least.
    assert sessions(bed.hap, "es_dc2") - before >= 22
    text = bed.agent.haesctl("drill", "report").stdout
    assert f"through: {door} (the front door), routing to dc2 after" in text, text
    assert bed.status()["active"] == "dc1"
    for c in (bed.dc1, bed.dc2):
        assert not [i for i in c.state()["indices"] if i.startswith("haes-drill-")], c.state()["indices"]


def test_a_front_door_that_does_not_follow_the_verdict_fails_the_drill_and_dc1_stays_active(procs, tmp_path):
    """A front door stuck on dc1 (a router that ignores the agent: here a
    plain TCP forwarder to a dc1 node): the writes are accepted, by the wrong
    cluster. The drill must say so, clean both clusters and switch back."""
    proxy = FaultProxy.start(procs, free_port())
    bed = start(procs, tmp_path, drill={"through": proxy.url()})
    proxy.retarget(bed.dc1.port(bed.dc1.node_names[0]))
    r = bed.agent.haesctl("drill", "--json", timeout=180)
    assert r.returncode == 1, r.stdout
    rep = report(bed)
    assert not rep["ok"] and rep["rolled_back"], rep
    assert rep["reason"].startswith(f"read: the front door {proxy.url()} sent the drill's documents to dc1, "
                                    "not to dc2"), rep["reason"]
    assert [s["step"] for s in rep["steps"]] == ["readiness_before", "switchover", "write", "read", "cleanup",
                                                 "switch_back"]
    steps = {s["step"]: s for s in rep["steps"]}
    assert steps["write"]["ok"] and steps["cleanup"]["ok"], rep["steps"]
    assert "on dc1, where the front door had put it" in steps["cleanup"]["detail"], steps["cleanup"]
    s = bed.status()
    assert s["active"] == "dc1"
    assert writable(bed.dc1)
    for c in (bed.dc1, bed.dc2):
        assert not [i for i in c.state()["indices"] if i.startswith("haes-drill-")], c.state()["indices"]
    assert any(e["kind"] == "drill_failed" and "sent the drill's documents to dc1" in e["message"]
               for e in bed.events())


def test_a_drill_whose_target_turns_red_leaves_dc1_active_and_writable(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc2.create_index("junk", shards=1, replicas=0)  # not synced: the restore will not mend it
    bed.dc1.bulk_index("orders", {f"p{i}": {"pad": "x" * 2000} for i in range(300)})
    bed.dc1.set_snapshot_speed(100_000)  # the drill's final snapshot runs for seconds
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", bed.agent.haesctl("drill", "--json", timeout=180)))
    t.start()
    bed.wait_status(lambda s: "snapshot" in s["sync"]["running"], what="the drill's final snapshot running")
    bed.dc2.force_red("junk")
    t.join(120)
    r = result["r"]
    assert r.returncode == 1, r.stdout
    assert json.loads(r.stdout)["code"] == "verify_failed"
    rep = report(bed)
    assert not rep["ok"] and rep["reason"].startswith("switchover: switchover to dc2 rolled back"), rep
    assert "FAILED: switchover: " in bed.agent.haesctl("drill", "report").stdout
    assert [s["step"] for s in rep["steps"]] == ["readiness_before", "switchover"]
    s = bed.status()
    assert (s["epoch"], s["active"]) == (1, "dc1")
    assert writable(bed.dc1)
    assert bed.metric("haes_drill_last_ok") == 0
    assert any(e["kind"] == "drill_failed" for e in bed.events())


def test_an_agent_killed_mid_drill_is_undone_when_it_restarts(procs, tmp_path):
    bed = start(procs, tmp_path, drill={"documents": 3000})  # the write step lasts seconds
    t = threading.Thread(target=lambda: bed.agent.haesctl("drill", timeout=180))
    t.start()
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=60, what="the drill's switchover to dc2")
    wait_for(lambda: [i for i in bed.dc2.state()["indices"] if i.startswith("haes-drill-")], 20,
             what="the drill writing on dc2")
    bed.agent.proc.kill9()
    t.join(30)
    bed.agent.start(procs)
    bed.wait_status(lambda s: s["active"] == "dc1", timeout=90, what="dc1 active again after the restart")
    wait_for(lambda: writable(bed.dc1), 30, what="dc1 writable")
    wait_for(lambda: not report(bed)["running"], 30, what="the drill report closed")
    rep = report(bed)
    assert not rep["ok"] and rep["rolled_back"], rep
    assert rep["reason"] == "interrupted: the agent stopped during the drill; dc1 is active again", rep
    for c in (bed.dc1, bed.dc2):
        assert not [i for i in c.state()["indices"] if i.startswith("haes-drill-")], c.state()["indices"]
    assert any(e["kind"] == "drill_failed" for e in bed.events())


def test_a_scheduled_drill_runs_by_itself(procs, tmp_path):
    bed = start(procs, tmp_path, drill={"interval": "4s"})
    wait_for(lambda: bed.metric("haes_drills_total", result="passed") >= 1, 90, what="a scheduled drill passing")
    reports = json.loads(bed.agent.haesctl("drill", "report", "5", "--json").stdout)["reports"]
    done = [r for r in reports if not r["running"]]
    assert done[0]["actor"] == "drill schedule" and done[0]["ok"], done
    assert any(e["kind"] == "drill" and e["actor"] == "drill schedule" for e in bed.events())
