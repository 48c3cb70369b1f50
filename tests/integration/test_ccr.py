"""Issue 14 end to end: sync.mode: ccr with two essim clusters, haes-agent and
real HAProxy. dc2 follows dc1's logs-* indices (the agent sets up the remote
cluster and the followers: sync.ccr.manage); the agent exports their lag,
promotes them before dc2 takes traffic on a failover, refuses an automatic
failover when one cannot be promoted, switches over without losing an
acknowledged write, and re-follows only on an operator's command, after a
snapshot."""

import json
import threading
import time
from pathlib import Path

from haestest.bed import Bed
from haestest.essim import http
from haestest.proc import holds_for, wait_for

CCR = {"sync": {"mode": "ccr",
                "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
                "ccr": {"indices": ["logs-*"], "manage": True, "poll_interval": "1s", "timeout": "20s",
                        "transport_port": 0}}}
INDICES = ("logs-a", "logs-b")


def start(procs, tmp_path, haproxy=True):
    bed = Bed.start(procs, tmp_path, haproxy=haproxy, agent_extra=json.loads(json.dumps(CCR)))
    for index in INDICES:
        bed.dc1.create_index(index)
        bed.dc1.bulk_index(index, {n: {"n": n} for n in range(5)})
    bed.wait_status(lambda s: sorted(f["index"] for f in s["sync"]["followers"]) == list(INDICES)
                    and s["sync"]["passive_data_age_seconds"] >= 0, timeout=30,
                    what="every logs-* index of dc1 followed on dc2, caught up")
    wait_for(lambda: all(bed.dc2.count(i) == 5 for i in INDICES), 15, what="the followers' copies")
    if haproxy:
        bed.hap.wait_servers("es_dc1", "UP")
    return bed


def followers_on(cluster):
    return sorted(f["follower_index"] for f in cluster.ok("GET", "/_all/_ccr/info")["follower_indices"])


def fail_over_refusing(bed, path):
    """dc2's nodes answer 500 to `path` (a promotion step), dc1 goes red: the
    failover is refused for want of promotion, and dc1 stays active. Returns
    the status that shows the blocker."""
    for n in bed.dc2.node_names:
        bed.dc2.fail_node(n, status=500, path=path, reason="injected: promotion step fails")
    bed.dc1.force_red()
    s = bed.wait_status(lambda s: s["robot"]["blocker"] == "ccr_promotion", timeout=20,
                        what="the failover refused for want of promotion")
    holds_for(lambda: bed.status()["active"] == "dc1", 4, what="dc1 stays active")
    return s


def write_through(bed, index, doc_id):
    return bed.hap.request("PUT", f"/{index}/_doc/{doc_id}", {"n": doc_id}).status


def test_lag_is_exported_and_shown_with_the_indices_not_followed(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    assert bed.metric("haes_ccr_follower_operations_behind", index="logs-a") == 0
    assert bed.metric("haes_ccr_follower_status", index="logs-a", status="active") == 1
    assert bed.metric("haes_sync_passive_data_age_seconds") >= 0
    # dc2 applies what it reads 4 s late: the lag shows, in operations and seconds.
    bed.dc2.set_ccr_replication(delay_ms=6000)
    bed.dc1.bulk_index("logs-a", {n: {"n": n} for n in range(100, 110)})
    wait_for(lambda: (bed.metric("haes_ccr_follower_operations_behind", index="logs-a") or 0) >= 10, 10,
             what="logs-a 10 operations behind in /metrics")
    text = bed.agent.haesctl("status").stdout
    assert "follower logs-a: active, operations_behind 10" in text, text
    wait_for(lambda: bed.metric("haes_ccr_follower_lag_seconds", index="logs-a") >= 2, 10,
             what="a lag in seconds")
    assert bed.metric("haes_sync_passive_data_age_seconds") >= 2
    bed.dc2.set_ccr_replication(delay_ms=0)
    wait_for(lambda: bed.metric("haes_ccr_follower_operations_behind", index="logs-a") == 0, 15,
             what="logs-a caught up")
    # An index of the patterns that dc2 holds as a regular index is not followed: said so.
    bed.dc2.create_index("logs-c")
    bed.dc1.create_index("logs-c")
    s = bed.wait_status(lambda s: s["sync"]["not_followed"] == ["logs-c"], what="logs-c not followed")
    assert s["sync"]["passive_data_age_seconds"] == -1
    assert "logs-c" in s["sync"]["lag_unknown_because"]
    assert "not_followed: logs-c" in bed.agent.haesctl("status").stdout
    assert bed.metric("haes_ccr_not_followed_indices") == 1
    # Every family the agent exports in CCR mode is documented.
    _, body = bed.agent.health("/metrics")
    families = [line.split()[2] for line in body.splitlines() if line.startswith("# TYPE ")]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    undocumented = [f for f in families if f"`{f}`" not in doc]
    assert not undocumented, f"families missing from docs/metrics.md: {undocumented}"


def test_red_dc1_fails_over_after_promoting_every_follower(procs, tmp_path):
    bed = start(procs, tmp_path)
    assert write_through(bed, "logs-a", "before") in (200, 201)
    # A follower refuses direct writes (ES: 403).
    assert http("PUT", bed.dc2.url() + "/logs-a/_doc/direct", {"n": 1})[0] == 403
    wait_for(lambda: bed.dc2.count("logs-a") == 6, 10, what="the write replicated to dc2")
    t0 = time.monotonic()
    bed.dc1.force_red()
    t1 = bed.wait_traffic_on("dc2", timeout=20)
    print(f"RTO with promotion of {len(INDICES)} followers: {t1 - t0:.2f}s")
    assert followers_on(bed.dc2) == []  # every follower promoted
    events = bed.events()
    promoted = [e["message"] for e in events if e["kind"] == "ccr_promotion"]
    assert any("promoted follower logs-a on dc2: pause_follow ok, close ok, unfollow ok, open ok" in m
               for m in promoted), promoted
    assert any(m.startswith("promoted follower logs-b on dc2") for m in promoted), promoted
    assert [e["kind"] for e in events].count("failover") == 1
    # Writes through HAProxy now land on dc2's promoted indices.
    for i in range(5):
        assert write_through(bed, "logs-a", f"after-{i}") in (200, 201)
    bed.dc2.ok("POST", "/logs-a/_refresh")
    assert bed.dc2.count("logs-a") == 5 + 1 + 5
    assert bed.metric("haes_ccr_promotions_total", result="ok") == 1
    assert bed.metric("haes_ccr_last_promotion_seconds") > 0
    s = bed.status()
    assert "promoted 2 follower index(es) on dc2" in s["sync"]["last_promotion"]


def test_the_old_active_cluster_refuses_direct_writes_while_fenced(procs, tmp_path):
    # After a failover dc1's logs-* are regular indices: a client that
    # bypasses HAProxy could write there, and `ccr refollow` would delete it.
    bed = start(procs, tmp_path, haproxy=False)
    assert http("PUT", bed.dc1.url() + "/logs-a/_doc/before", {"n": 1})[0] in (200, 201)
    bed.dc1.force_red()
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=20, what="the failover to dc2")
    s = bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc1", timeout=20, what="dc1's writes blocked")
    assert s["sync"]["writes_blocked_by_fence"], s["sync"]
    bed.dc1.heal()
    for index in INDICES:
        status, body = http("PUT", bed.dc1.url() + f"/{index}/_doc/direct", {"n": 2})
        assert status == 403 and "cluster_block_exception" in json.dumps(body), (status, body)
    assert "writes_blocked: dc1 since" in bed.agent.haesctl("status").stdout
    fenced = [e for e in bed.events() if e["kind"] == "fence_writes"]
    assert len(fenced) == 1 and fenced[0]["actor"] == "ccr", fenced
    # The operator makes dc1 active again: its writes open before it takes traffic.
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", timeout=20, what="dc1 green")
    r = bed.agent.haesctl("failover", "--to", "dc1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert bed.status()["active"] == "dc1"
    assert http("PUT", bed.dc1.url() + "/logs-a/_doc/after", {"n": 3})[0] in (200, 201)
    unfenced = [e for e in bed.events() if e["kind"] == "unfence_writes"]
    assert len(unfenced) == 1 and "writes unblocked" in unfenced[0]["message"], unfenced
    # And dc2, fenced by that failover, is blocked in its turn.
    bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc2", timeout=20, what="dc2's writes blocked")
    assert http("PUT", bed.dc2.url() + "/logs-a/_doc/direct", {"n": 4})[0] == 403


def test_a_follower_that_cannot_be_unfollowed_blocks_the_automatic_failover(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    s = fail_over_refusing(bed, "/logs-b/_ccr/unfollow")
    assert "logs-b" in s["robot"]["text"] and "unfollow" in s["robot"]["text"], s["robot"]
    assert bed.metric("haes_ccr_promotion_blocked") == 1
    assert bed.metric("haes_ccr_promotions_total", result="failed") >= 1
    blocked = [e for e in bed.events() if e["kind"] == "failover_blocked" and "logs-b" in e["message"]]
    assert len(blocked) == 1, blocked  # once per reason, not every round
    # logs-b is not left closed: reopened on dc2.
    cat = bed.dc2.ok("GET", "/_cat/indices/logs-b?format=json&h=index,status")
    assert cat[0]["status"] == "open"
    # A forced failover goes on and says what was not promoted.
    r = bed.agent.haesctl("failover", "--to", "dc2", "--force")
    assert r.returncode == 0, (r.stdout, r.stderr)
    s = bed.wait_status(lambda s: s["active"] == "dc2", what="forced failover")
    assert "not promoted: logs-b" in s["sync"]["last_promotion"], s["sync"]["last_promotion"]
    assert followers_on(bed.dc2) == ["logs-b"]
    assert bed.metric("haes_ccr_promotions_total", result="forced") == 1


def test_switchover_in_ccr_mode_loses_no_acknowledged_write(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc2.set_ccr_replication(delay_ms=300)  # a follower always a little behind
    acked, stop = [], threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            try:
                if write_through(bed, "logs-a", f"w{i}") in (200, 201):
                    acked.append(f"w{i}")
            except OSError:
                pass
            i += 1
            stop.wait(0.01)  # paced; ends at once when stopped
    t = threading.Thread(target=writer)
    t.start()
    try:
        wait_for(lambda: len(acked) >= 20, 10, what="writes acknowledged before the switchover")
        r = bed.agent.haesctl("switchover", "--to", "dc2", timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "without loss" in r.stdout, r.stdout
        n = len(acked)
        wait_for(lambda: len(acked) >= n + 20, 15, what="writes acknowledged by dc2 after the switchover")
    finally:
        stop.set()
        t.join()
    assert bed.status()["active"] == "dc2"
    bed.dc2.ok("POST", "/logs-a/_refresh")
    assert bed.dc2.count("logs-a") == 5 + len(acked)
    assert followers_on(bed.dc2) == []


def test_refollow_after_failover_deletes_only_after_a_snapshot(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.force_red()
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=20, what="the failover")
    bed.dc1.heal()
    bed.dc2.bulk_index("logs-a", {n: {"n": n} for n in range(10, 13)})
    # A write dc1 took after the failover, before its fence (a client that
    # still reached it while the agent did not): the test opens the block
    # for that one write, as if it were not there yet.
    bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc1", timeout=20, what="dc1 fenced")
    bed.dc1.ok("PUT", "/logs-b/_settings", {"index.blocks.write": False})
    bed.dc1.bulk_index("logs-b", {"late": {"n": 1}})
    bed.dc1.ok("PUT", "/logs-b/_settings", {"index.blocks.write": True})
    bed.wait_status(lambda s: s["sync"]["not_followed"] == list(INDICES), timeout=15,
                        what="dc1 reported as not following dc2")
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green again")
    # No failback before dc1 follows dc2 again: it could not catch up.
    r = bed.agent.haesctl("failback")
    assert r.returncode != 0 and "ccr refollow first" in r.stdout + r.stderr, (r.stdout, r.stderr)
    r = bed.agent.haesctl("ccr", "refollow", "--dry-run")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "would delete 2 index(es): logs-a, logs-b" in r.stdout, r.stdout
    assert followers_on(bed.dc1) == [] and bed.dc1.count("logs-b") == 6
    assert bed.dc1.es("GET", "/_snapshot/haes/_all")[0] == 404  # not even registered
    # A snapshot that fails: nothing is deleted.
    for n in bed.dc1.node_names:
        bed.dc1.fail_node(n, status=500, path="/_snapshot/haes/haes-refollow", reason="injected: snapshot fails")
    r = bed.agent.haesctl("ccr", "refollow", timeout=60)
    assert r.returncode == 1 and "nothing deleted" in r.stdout, (r.stdout, r.stderr)
    assert followers_on(bed.dc1) == [] and bed.dc1.count("logs-b") == 6
    for n in bed.dc1.node_names:
        bed.dc1.clear_node(n)
    r = bed.agent.haesctl("ccr", "refollow", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "snapshot haes-refollow-" in r.stdout, r.stdout
    snaps = bed.dc1.ok("GET", "/_snapshot/haes/_all")["snapshots"]
    assert len(snaps) == 1 and snaps[0]["state"] == "SUCCESS"
    assert sorted(snaps[0]["indices"]) == list(INDICES)
    # The snapshot holds dc1's post-failover write.
    bed.dc1.ok("POST", f"/_snapshot/haes/{snaps[0]['snapshot']}/_restore?wait_for_completion=true",
               {"indices": "logs-b", "rename_pattern": "(.+)", "rename_replacement": "kept-$1"})
    assert bed.dc1.count("kept-logs-b") == 6
    assert followers_on(bed.dc1) == list(INDICES)
    wait_for(lambda: bed.dc1.count("logs-a") == 8, 15, what="dc1's logs-a a copy of dc2's")
    bed.wait_status(lambda s: s["sync"]["not_followed"] == [] and s["sync"]["passive_data_age_seconds"] >= 0,
                    timeout=15, what="dc1 following dc2")
    assert any(e["kind"] == "ccr_refollow" for e in bed.events())
    # Then the failback is a planned move: lag 0 with writes blocked, dc1's followers promoted.
    r = bed.agent.haesctl("failback", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    s = bed.status()
    assert s["active"] == "dc1"
    assert followers_on(bed.dc1) == []
    assert bed.dc1.count("logs-a") == 8
    # The fence went with the move: dc1 writable, the marker cleared.
    assert s["sync"]["writes_blocked"] == "", s["sync"]
    assert http("PUT", bed.dc1.url() + "/logs-b/_doc/back", {"n": 2})[0] in (200, 201)
    assert any(e["kind"] == "unfence_writes" for e in bed.events())


def test_ccr_refollow_outside_ccr_mode_says_so(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    r = bed.agent.haesctl("ccr", "refollow", "--dry-run", "--json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["code"] == "ccr_off" and "sync.mode: ccr" in out["error"], out


def test_manage_false_checks_the_remote_and_the_auto_follow_pattern(procs, tmp_path):
    cfg = json.loads(json.dumps(CCR))
    cfg["sync"]["ccr"]["manage"] = False
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra=cfg)
    s = bed.wait_status(lambda s: len(s["sync"]["setup"]) == 2, timeout=20, what="both set-up problems reported")
    assert "remote cluster dc1 is not set on dc2" in s["sync"]["setup"][0], s["sync"]["setup"]
    assert s["sync"]["setup"][1] == ("no auto-follow pattern on dc2 follows remote cluster dc1: its new indices "
                                     "would not be followed (PUT /_ccr/auto_follow/haes-dc1, or "
                                     "sync.ccr.manage: true)"), s["sync"]["setup"]
    # Nothing was created for the operator: checked only.
    assert bed.dc2.ok("GET", "/_ccr/auto_follow")["patterns"] == []
    # The operator sets the remote and a pattern that misses nothing but is paused.
    bed.dc2.add_remote("dc1", bed.dc1)
    bed.dc2.ok("PUT", "/_ccr/auto_follow/ops", {"remote_cluster": "dc1", "leader_index_patterns": ["logs-*"]})
    bed.dc2.ok("POST", "/_ccr/auto_follow/ops/pause")
    s = bed.wait_status(lambda s: len(s["sync"]["setup"]) == 1, timeout=20, what="the remote accepted")
    assert "lists logs-*; paused: ops" in s["sync"]["setup"][0], s["sync"]["setup"]
    assert "setup: no active auto-follow pattern on dc2 from dc1 lists logs-*" in bed.agent.haesctl("status").stdout
    bed.dc2.ok("POST", "/_ccr/auto_follow/ops/resume")
    bed.wait_status(lambda s: s["sync"]["setup"] == [], timeout=20, what="nothing missing")
    # And it works: a new index of dc1 is followed by the operator's pattern.
    bed.dc1.create_index("logs-new")
    bed.wait_status(lambda s: "logs-new" in [f["index"] for f in s["sync"]["followers"]], timeout=30,
                    what="logs-new followed by the operator's pattern")


DS_TEMPLATE = {"index_patterns": ["logs-app*"], "data_stream": {}, "priority": 200,
               "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}}
STAMP = "2026-12-03T00:00:00Z"


def stream(cluster, name="logs-app"):
    return cluster.ok("GET", f"/_data_stream/{name}")["data_streams"][0]


def backing(cluster, name="logs-app"):
    return [i["index_name"] for i in stream(cluster, name)["indices"]]


def follow_tasks(cluster):
    return sorted(i["index"] for i in cluster.ok("GET", "/_ccr/stats")["follow_stats"]["indices"])


def append_through(bed, n):
    return bed.hap.request("POST", "/logs-app/_doc?refresh=true", {"@timestamp": STAMP, "n": n}).status


def start_with_stream(procs, tmp_path, haproxy=True):
    """start(), plus the data stream logs-app on dc1 (two backing indices,
    5 documents) followed on dc2 as a replicated stream."""
    bed = start(procs, tmp_path, haproxy=haproxy)
    for c in (bed.dc1, bed.dc2):
        c.ok("PUT", "/_index_template/logs-app", DS_TEMPLATE)
    for n in range(5):
        assert http("POST", bed.dc1.url() + "/logs-app/_doc?refresh=true", {"@timestamp": STAMP, "n": n})[0] == 201
        if n == 2:
            bed.dc1.ok("POST", "/logs-app/_rollover")
    first, second = backing(bed.dc1)
    s = bed.wait_status(lambda s: {first, second} <= {f["index"] for f in s["sync"]["followers"]}
                        and s["sync"]["passive_data_age_seconds"] >= 0, timeout=30,
                        what="dc1's backing indices followed on dc2, caught up")
    assert s["sync"]["not_followed"] == [], s["sync"]
    wait_for(lambda: bed.dc2.count("logs-app") == 5, 15, what="the stream's documents on dc2")
    assert stream(bed.dc2)["replicated"] is True and backing(bed.dc2) == [first, second]
    assert http("POST", bed.dc2.url() + "/logs-app/_doc", {"@timestamp": STAMP})[0] == 403  # a follower
    return bed, first, second


def test_a_data_stream_that_cannot_be_promoted_blocks_the_failover_and_keeps_following(procs, tmp_path):
    bed, first, second = start_with_stream(procs, tmp_path, haproxy=False)
    s = fail_over_refusing(bed, "/_data_stream/_promote/logs-app")
    assert "data stream logs-app" in s["robot"]["text"] and "promote_data_stream" in s["robot"]["text"], s["robot"]
    # Neither backing index was unfollowed (that cannot be undone): both
    # still follow dc1, the stream is still replicated.
    assert follow_tasks(bed.dc2) == [first, second]
    assert stream(bed.dc2)["replicated"] is True


def test_a_data_stream_is_promoted_and_rolled_over_on_failover_and_followed_again_by_refollow(procs, tmp_path):
    """A data stream auto-followed by `logs-*` (dc2 holds it replicated:
    its write index is a follower, which can neither be written, nor closed,
    nor rolled over). On a failover the agent promotes the stream and rolls
    it over onto a regular write index before dc2 takes traffic, then runs
    the runbook on the old backing indices: appends through HAProxy land on
    dc2. `ccr refollow` deletes dc1's stream whole (its write index cannot be
    deleted alone) and follows dc2's backing indices; the failback promotes
    it on dc1 the same way. The index template is on both clusters, as CCR
    does not copy templates."""
    bed, first, second = start_with_stream(procs, tmp_path)
    assert append_through(bed, 6) == 201  # dc1 active: through HAProxy
    wait_for(lambda: bed.dc2.count("logs-app") == 6, 15, what="the append replicated to dc2")

    bed.dc1.force_red()
    bed.wait_traffic_on("dc2", timeout=20)
    ds = stream(bed.dc2)
    assert ds["replicated"] is False, ds
    third = backing(bed.dc2)[-1]
    assert backing(bed.dc2) == [first, second, third]
    assert follow_tasks(bed.dc2) == []  # the old backing indices unfollowed too
    promoted = [e["message"] for e in bed.events() if e["kind"] == "ccr_promotion"]
    assert "promoted data stream logs-app on dc2: promote_data_stream ok, rollover ok" in promoted, promoted
    assert any(m.startswith(f"promoted follower {second} on dc2: pause_follow ok, close ok") for m in promoted), promoted
    assert "1 data stream(s) and 4 follower index(es)" in bed.status()["sync"]["last_promotion"]
    for n in range(6, 9):
        assert append_through(bed, n) == 201
    assert bed.dc2.count("logs-app") == 9

    # dc1 back: fenced, then followed again from dc2 by the operator's refollow.
    bed.dc1.heal()
    bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc1", timeout=20, what="dc1 fenced")
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green again")
    r = bed.agent.haesctl("ccr", "refollow", "--dry-run")
    assert r.returncode == 0 and "data streams deleted whole: logs-app" in r.stdout, (r.stdout, r.stderr)
    assert stream(bed.dc1)["replicated"] is False  # the dry run changed nothing
    r = bed.agent.haesctl("ccr", "refollow", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    wait_for(lambda: backing(bed.dc1) == [first, second, third] and bed.dc1.count("logs-app") == 9, 15,
             what="dc1's logs-app a replicated copy of dc2's")
    assert stream(bed.dc1)["replicated"] is True
    bed.wait_status(lambda s: s["sync"]["not_followed"] == [] and s["sync"]["passive_data_age_seconds"] >= 0,
                    timeout=15, what="dc1 following dc2")

    r = bed.agent.haesctl("failback", timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    bed.wait_traffic_on("dc1", timeout=20)
    assert stream(bed.dc1)["replicated"] is False and len(backing(bed.dc1)) == 4
    assert append_through(bed, 9) == 201
    assert bed.dc1.count("logs-app") == 10
