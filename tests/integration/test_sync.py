"""Issue 5 end to end: two essim clusters sharing a repository root, the
agent with sync configured, real HAProxy in front. Documents are written and
counted THROUGH HAProxy, as clients would."""

import json
import threading
import time
from pathlib import Path


from haestest.bed import Bed
from haestest.essim import http
from haestest.proc import wait_for

SYNC = {"sync": {"interval": "1h", "indices": ["orders*"],
                 "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
                 "retention": {"keep": 3}}}


def start(procs, tmp_path, sync=None, **kw):
    cfg = json.loads(json.dumps(SYNC))
    for k, v in (sync or {}).items():
        cfg["sync"][k] = v
    bed = Bed.start(procs, tmp_path, nodes=3, agent_extra=cfg, **kw)
    if bed.hap:
        bed.hap.wait_servers("es_dc1", "UP")
    # The first scheduled sync runs a few seconds after start.
    bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first sync")
    return bed


def via(bed, method, path, body=None):
    return http(method, bed.hap.url + path, body)


def write_docs(bed, ids, index="orders"):
    lines = []
    for i in ids:
        lines += [json.dumps({"index": {"_index": index, "_id": str(i)}}), json.dumps({"n": i})]
    status, out = via(bed, "POST", "/_bulk?refresh=true", "\n".join(lines) + "\n")
    assert status == 200 and out["errors"] is False, (status, out)


def count_via(bed, index="orders"):
    status, out = via(bed, "GET", f"/{index}/_count")
    assert status == 200, (status, out)
    return out["count"]


def sync_now(bed):
    r = bed.agent.haesctl("sync", "now", timeout=120)
    return r


def in_background(fn):
    """Runs fn() in a thread; returns (thread, result dict with "r")."""
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", fn()))
    t.start()
    return t, result


def writes_in(counters: dict) -> dict:
    """The write requests (PUT, POST, DELETE) among essim's counters ("POST snapshot.restore": n)."""
    return {k: v for k, v in counters.items() if k.split(" ", 1)[0] in ("PUT", "POST", "DELETE")}


def endpoints(counters: dict) -> set:
    """essim's counter keys without the method: {"snapshot.restore", "indices.close", ...}."""
    return {k.split(" ", 1)[-1] for k in counters}


def test_writes_through_haproxy_reach_dc2_after_one_sync(procs, tmp_path):
    bed = start(procs, tmp_path)
    status, _ = via(bed, "PUT", "/orders", {"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    assert status == 200
    write_docs(bed, range(100))
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert "synced 1 index(es) from dc1 to dc2" in r.stdout
    assert bed.dc2.count("orders") == 100
    s = bed.status()["sync"]
    assert s["last_result"] == "ok" and s["source"] == "dc1" and s["target"] == "dc2"
    assert s["last_synced_snapshot"].startswith("haes-e1-") and s["last_synced_snapshot"].endswith("-dc1")
    assert 0 <= s["passive_data_age_seconds"] < 60
    assert s["repository"] == {"dc1": "writer", "dc2": "readonly"}
    text = bed.agent.haesctl("status").stdout
    assert "passive_data_age_seconds:" in text and "RPO if dc1 failed now" in text
    assert bed.metric("haes_sync_runs_total", result="ok") >= 1
    assert 0 <= bed.metric("haes_sync_passive_data_age_seconds") < 60
    assert any(e["kind"] == "sync" and "dc1 to dc2" in e["message"] for e in bed.events())
    # The passive side's registration is read-only: it can never write the repository.
    status, out = bed.dc2.es("PUT", "/_snapshot/haes/rogue?wait_for_completion=true", {"indices": "orders"})
    assert status == 500 and "readonly" in json.dumps(out)

    # Every family the agent exports is documented (docs/metrics.md).
    _, body = bed.agent.health("/metrics")
    families = [line.split()[2] for line in body.splitlines() if line.startswith("# TYPE ")]
    assert len(families) > 40, body[:500]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    undocumented = [f for f in families if f"`{f}`" not in doc]
    assert not undocumented, f"families missing from docs/metrics.md: {undocumented}"

def test_failover_loses_only_what_came_after_the_sync_point_then_dc1_becomes_the_target(procs, tmp_path):
    bed = start(procs, tmp_path)
    via(bed, "PUT", "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    write_docs(bed, range(50))
    assert sync_now(bed).returncode == 0
    synced_at = bed.status()["sync"]["started_at"]
    write_docs(bed, range(50, 70))  # after the sync point: will be lost
    bed.dc1.force_red("orders")
    bed.wait_traffic_on("dc2", timeout=15)
    assert count_via(bed) == 50  # every document up to the sync point, through HAProxy
    ev = [e for e in bed.events() if e["kind"] == "failover"][0]
    s = bed.status()
    assert s["sync"]["started_at"] == synced_at
    # The RPO: dc2 is active now; the passive dc1 has not been synced from it.
    assert s["sync"]["passive_data_age_seconds"] == -1
    # dc1 red: the next sync refuses to restore into it, and says why.
    r = sync_now(bed)
    assert r.returncode == 1 and "dc1 is red" in r.stdout
    # dc1 healed: it becomes the restore target of dc2's snapshots.
    bed.dc1.heal()
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green")
    # The operator is told that the next sync replaces dc1's post-sync writes.
    nxt = bed.agent.haesctl("status").stdout.split("next_step: ")[1]
    assert "replaces the writes it took after the last sync point" in nxt and "haesctl sync hold" in nxt, nxt
    write_docs(bed, range(1000, 1010))  # lands on dc2
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert "from dc2 to dc1" in r.stdout
    assert bed.dc1.count("orders") == 60
    s = bed.status()["sync"]
    assert s["repository"] == {"dc1": "readonly", "dc2": "writer"}
    assert s["last_synced_snapshot"].startswith("haes-e2-") and s["passive_data_age_seconds"] >= 0
    assert s["source"] == "dc2" and s["target"] == "dc1"


def test_switchover_back_to_dc1_loses_no_acknowledged_write(procs, tmp_path):
    bed = start(procs, tmp_path)
    via(bed, "PUT", "/orders", {"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    write_docs(bed, range(200))
    assert sync_now(bed).returncode == 0
    acked, refused, stop = [], [], threading.Event()

    def writer():
        i = 10_000
        while not stop.is_set():
            status, _ = via(bed, "PUT", f"/orders/_doc/{i}?refresh=true", {"n": i})
            (acked if status in (200, 201) else refused).append(i)
            i += 1
    t = threading.Thread(target=writer)
    t.start()
    wait_for(lambda: len(acked) >= 20, 20, what="writes acknowledged by dc1")
    r = bed.agent.haesctl("switchover", "--to", "dc2", "--reason", "planned maintenance of dc1", timeout=120)
    after = len(acked)
    wait_for(lambda: len(acked) >= after + 20, 20, what="writes acknowledged by dc2 after the switchover")
    stop.set()
    t.join()
    assert r.returncode == 0, r.stdout
    assert "without loss" in r.stdout and "writes were unavailable for" in r.stdout
    bed.wait_traffic_on("dc2")
    assert len(acked) > 20 and refused, (len(acked), len(refused))  # writes ran on both sides of the switch
    assert count_via(bed) == 200 + len(acked)  # every acknowledged write is on dc2
    status, _ = via(bed, "PUT", "/orders/_doc/x?refresh=true", {"n": 1})
    assert status in (200, 201)  # the new active cluster takes writes
    s = bed.status()
    assert (s["active"], s["fenced"]) == ("dc2", [])
    assert s["sync"]["last_write_block_ms"] > 0
    assert bed.metric("haes_switchover_write_block_seconds") > 0
    assert any(e["kind"] == "switchover_sync" for e in bed.events())
    # dc1 keeps its write block (stray writes fail loudly) until the next sync replaces its indices.
    status, out = bed.dc1.es("PUT", "/orders/_doc/stray", {"n": 1})
    assert status == 403 and out["error"]["type"] == "cluster_block_exception"
    assert sync_now(bed).returncode == 0
    assert bed.dc1.count("orders") == 200 + len(acked) + 1


def test_a_failed_switchover_rolls_back_with_writes_unblocked(procs, tmp_path):
    bed = start(procs, tmp_path)
    via(bed, "PUT", "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    write_docs(bed, range(10))
    assert sync_now(bed).returncode == 0
    bed.dc2.fail_next_restore()
    r = bed.agent.haesctl("switchover", "--to", "dc2", timeout=120)
    assert r.returncode == 1
    assert "rolled back" in r.stdout and "dc1 stays active, its writes are unblocked" in r.stdout
    s = bed.status()
    assert (s["epoch"], s["active"]) == (1, "dc1")
    status, _ = via(bed, "PUT", "/orders/_doc/after?refresh=true", {"n": 1})
    assert status in (200, 201)
    assert any(e["kind"] == "switchover_failed" for e in bed.events())


def test_roles_change_during_a_sync_stops_it_before_the_new_active_cluster(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    bed.dc1.set_snapshot_speed(100_000)  # ~6 s: the snapshot is IN_PROGRESS long enough
    bed.dc2.control("/counters/reset", {})
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", sync_now(bed)))
    t.start()
    bed.wait_status(lambda s: "snapshot" in s["sync"]["running"], what="the snapshot running")
    r = bed.agent.haesctl("failover", "--to", "dc2", "--reason", "operator decision")
    assert r.returncode == 0, r.stdout
    t.join(60)
    out = result["r"]
    assert out.returncode == 1 and "roles changed" in out.stdout and "dc2 was not touched" in out.stdout
    counters = bed.dc2.counters()["total"]
    assert not endpoints(counters) & {"snapshot.restore", "indices.close"}, counters
    assert "orders" not in bed.dc2.state()["indices"]
    assert any(e["kind"] == "sync_failed" and "roles changed" in e["message"] for e in bed.events())


def test_failures_are_reported_and_retried(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"n": i} for i in range(5)})
    # A restore whose shards cannot be allocated: HTTP 200, but failed shards.
    bed.dc2.fail_next_restore()
    r = sync_now(bed)
    assert r.returncode == 1 and "shards failed" in r.stdout and "NOT usable" in r.stdout
    s = bed.status()["sync"]
    assert s["last_result"] == "failed" and "shards failed" in s["last_error"]
    assert bed.metric("haes_sync_runs_total", result="failed") >= 1
    bed.wait_status(lambda s: s["clusters"][1]["health"] == "red", what="dc2 seen red after the failed restore")
    # Red also in an index no restore of ours left red: nothing is restored.
    bed.dc2.create_index("local-only", shards=1, replicas=0)
    bed.dc2.force_red("local-only")
    r = sync_now(bed)
    assert r.returncode == 1 and "no failed restore of ours left red (local-only)" in r.stdout, r.stdout
    assert bed.dc2.es("DELETE", "/local-only")[0] == 200
    # Red only in "orders", which our failed restore left red: the next run
    # restores over it (refusing would never mend it), and clears the error.
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 5 and bed.status()["sync"]["last_error"] == ""
    bed.wait_status(lambda s: s["clusters"][1]["health"] != "red", what="dc2 mended by the restore")
    # Red for another reason, even in our index: refused (it may hold data).
    bed.dc2.force_red("orders")
    bed.wait_status(lambda s: s["clusters"][1]["health"] == "red", what="dc2 seen red")
    r = sync_now(bed)
    assert r.returncode == 1 and "passive cluster dc2 is red: not restoring into it" in r.stdout, r.stdout
    bed.dc2.heal()
    # The active cluster red: no snapshot attempted, a clear reason.
    bed.dc1.force_red("orders")
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "red")
    r = sync_now(bed)
    assert r.returncode == 1 and "active cluster dc1 is red" in r.stdout


def test_missing_repository_without_registration_is_a_clear_error(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False, sync={"repository": {
        "name": "haes", "type": "fs", "settings": {"location": "shared"}, "register": False}})
    s = bed.status()["sync"]
    assert s["last_result"] == "failed"
    assert "repository haes on dc2" in s["last_error"] and "register it yourself" in s["last_error"]
    assert "repository_missing_exception" in s["last_error"]
    assert bed.metric("haes_sync_repository_ok", cluster="dc2") == 0
    assert "last_error:" in bed.agent.haesctl("status").stdout


def test_verify_restore_retention_and_slm_danger(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=2, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"n": i} for i in range(40)})
    for _ in range(4):
        assert sync_now(bed).returncode == 0
    r = bed.agent.haesctl("verify-restore")
    assert r.returncode == 0, r.stdout
    assert "document counts match (orders=40)" in r.stdout
    assert not [i for i in bed.dc2.state()["indices"] if i.startswith("haes-verify-")]
    assert bed.metric("haes_verify_restore_ok") == 1
    # retention.keep 3: the oldest of the (4 + the first scheduled) snapshots are gone.
    snaps = [s["snapshot"] for s in bed.dc1.ok("GET", "/_snapshot/haes/_all")["snapshots"]]
    assert len(snaps) == 3, snaps
    assert bed.status()["sync"]["last_synced_snapshot"] in snaps
    assert bed.metric("haes_sync_snapshots_deleted_total") >= 2
    # An SLM policy on the passive cluster is reported as a danger.
    bed.dc2.ok("PUT", "/_slm/policy/nightly", {"schedule": "0 30 1 * * ?", "name": "<n-{now/d}>",
                                               "repository": "haes", "retention": {"expire_after": "30d"}})
    assert sync_now(bed).returncode == 0
    text = bed.agent.haesctl("status").stdout
    assert "DANGER: SLM policies on the passive cluster dc2 (nightly)" in text


def test_passive_cluster_down_mid_restore_is_reported_then_retried(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    bed.dc2.set_snapshot_speed(100_000)  # the restore copies for ~6 s
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", sync_now(bed)))
    t.start()
    bed.wait_status(lambda s: s["sync"]["running"].startswith("sync: restore"), timeout=30,
                    what="the restore running")
    for n in bed.dc2.node_names:
        bed.dc2.stop_node(n)
    t.join(90)
    r = result["r"]
    assert r.returncode == 1, r.stdout
    assert "dc2" in r.stdout
    assert bed.status()["sync"]["last_result"] == "failed"
    for n in bed.dc2.node_names:
        bed.dc2.start_node(n)
    bed.dc2.set_snapshot_speed(10_000_000)
    bed.wait_status(lambda s: s["clusters"][1]["health"] in ("green", "yellow"), what="dc2 back")
    # The half-restored index may still be recovering (ES refuses to close it
    # then, and the agent says so); a later sync succeeds.
    wait_for(lambda: sync_now(bed).returncode == 0, 40, what="a successful sync after dc2 came back")
    assert bed.dc2.count("orders") == 300


def test_kill9_mid_switchover_never_leaves_the_active_cluster_write_blocked(procs, tmp_path):
    bed = start(procs, tmp_path)
    via(bed, "PUT", "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    write_docs(bed, range(300))
    status, _ = via(bed, "POST", "/_bulk?refresh=true",
                    "".join(json.dumps({"index": {"_index": "orders", "_id": f"p{i}"}}) + "\n" +
                            json.dumps({"pad": "x" * 2000}) + "\n" for i in range(300)))
    assert status == 200
    bed.dc1.set_snapshot_speed(100_000)  # the final snapshot runs for seconds
    t = threading.Thread(target=lambda: bed.agent.haesctl("switchover", "--to", "dc2", timeout=120))
    t.start()
    bed.wait_status(lambda s: "snapshot" in s["sync"]["running"], what="the final snapshot running")
    status, out = via(bed, "PUT", "/orders/_doc/during", {"n": 1})
    assert status == 403  # writes are blocked on dc1 now
    bed.agent.proc.kill9()
    t.join(30)
    bed.agent.start(procs)
    # The restarted agent finds the marker: dc1 is still active, so it unblocks it.
    wait_for(lambda: via(bed, "PUT", "/orders/_doc/after", {"n": 1})[0] in (200, 201), 20,
             what="writes accepted on dc1 again")
    s = bed.status()
    assert (s["epoch"], s["active"]) == (1, "dc1")
    ev = [e for e in bed.events() if e["kind"] == "write_block_lifted"]
    assert ev and "dc1 is still active: writes unblocked" in ev[0]["message"]
    assert "writes_blocked:" not in bed.agent.haesctl("status").stdout


def test_a_snapshot_that_does_not_succeed_is_never_restored(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    bed.dc1.set_snapshot_speed(100_000)
    bed.dc2.control("/counters/reset", {})
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", sync_now(bed)))
    t.start()
    s = bed.wait_status(lambda s: "snapshot" in s["sync"]["running"], what="the snapshot running")
    name = s["sync"]["last_snapshot"]
    # Someone deletes the running snapshot: ES aborts it.
    bed.dc1.ok("DELETE", f"/_snapshot/haes/{name}")
    t.join(60)
    r = result["r"]
    assert r.returncode == 1 and name in r.stdout, r.stdout
    counters = bed.dc2.counters()["total"]
    assert "snapshot.restore" not in endpoints(counters), counters
    assert "orders" not in bed.dc2.state()["indices"]
    bed.dc1.set_snapshot_speed(10_000_000)
    r = sync_now(bed)  # retried: the next one succeeds
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 300


def test_a_repository_disabled_by_a_foreign_write_is_reregistered_on_the_writer(procs, tmp_path):
    bed = start(procs, tmp_path)
    via(bed, "PUT", "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    write_docs(bed, range(30))
    assert sync_now(bed).returncode == 0
    # Someone registers the repository as a writer on dc2 and snapshots there:
    # ES disables dc1's registration ("... do not match its expected state"),
    # and a PUT with the same settings would not clear that.
    bed.dc2.create_index("rogue")
    assert bed.dc2.es("PUT", "/_snapshot/haes", {"type": "fs", "settings": {"location": "shared"}})[0] == 200
    assert bed.dc2.es("PUT", "/_snapshot/haes/rogue?wait_for_completion=true", {"indices": "rogue"})[0] == 200
    status, err = bed.dc1.es("GET", "/_snapshot/haes/_all")
    assert status == 500 and "expected state" in err["error"]["reason"]
    write_docs(bed, range(30, 60))
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 60
    assert bed.dc1.es("GET", "/_snapshot/haes/_all")[0] == 200
    assert bed.dc2.ok("GET", "/_snapshot/haes")["haes"]["settings"]["readonly"] == "true"
    ev = [e for e in bed.events() if e["kind"] == "repository_reregistered"]
    assert len(ev) == 1 and "disabled by Elasticsearch" in ev[0]["message"] and "dc1" in ev[0]["message"]


def test_a_short_server_error_while_watching_a_snapshot_does_not_fail_the_sync(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    bed.dc1.set_snapshot_speed(100_000)  # ~6 s: the snapshot is IN_PROGRESS long enough
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", sync_now(bed)))
    t.start()
    bed.wait_status(lambda s: "snapshot" in s["sync"]["running"], what="the snapshot running")
    # A master election on dc1: each node answers the snapshot watch 503
    # once (at most 3 in a row: fewer than the watch tolerates).
    for n in range(3):
        bed.dc1.fail_node(n, 503, type="master_not_discovered_exception", reason="no master",
                          path="/_snapshot/haes/haes-", count=1)
    t.join(60)
    out = result["r"]
    assert out.returncode == 0, out.stdout
    # The watch did meet the 503 (a consumed fault clears itself).
    assert any(n["fault"] is None for n in bed.dc1.state()["nodes"].values())
    assert bed.dc2.count("orders") == 300


def test_an_operator_hold_stops_syncs_even_mid_sync_and_survives_kill9(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    r = bed.agent.haesctl("sync", "hold", "--reason", "rescue dc2's writes", "--dry-run")
    assert r.returncode == 0 and r.stdout.startswith("dry run: syncs held"), r.stdout
    assert bed.status()["sync"]["held"] is False
    # A hold placed while a sync runs stops it before its next step.
    bed.dc1.set_snapshot_speed(100_000)  # ~6 s: the snapshot is IN_PROGRESS long enough
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", sync_now(bed)))
    t.start()
    bed.wait_status(lambda s: "snapshot" in s["sync"]["running"], what="the snapshot running")
    r = bed.agent.haesctl("sync", "hold", "--reason", "rescue dc2's writes")
    assert r.returncode == 0 and "stops before its next step" in r.stdout, r.stdout
    t.join(60)
    out = result["r"]
    assert out.returncode == 1 and "held by operator" in out.stdout and "dc2 was not touched" in out.stdout, out.stdout
    assert "orders" not in bed.dc2.state()["indices"]
    bed.dc1.set_snapshot_speed(100_000_000)
    # While held: sync now and a planned switchover are refused, and say why.
    r = sync_now(bed)
    assert r.returncode == 1 and "held by operator" in r.stdout and "haesctl sync release" in r.stdout
    r = bed.agent.haesctl("switchover", "--to", "dc2")
    assert r.returncode == 1 and "final sync is needed" in r.stdout, r.stdout
    assert bed.metric("haes_sync_held") == 1
    text = bed.agent.haesctl("status").stdout
    assert "held: yes, by operator" in text and "rescue dc2's writes" in text and "next_sync: none while held" in text
    # The hold is in the state store: a kill -9 and a restart keep it.
    bed.agent.proc.kill9()
    bed.agent.start(procs)
    assert bed.status()["sync"]["held"] is True
    assert sync_now(bed).returncode == 1
    r = bed.agent.haesctl("sync", "release")
    assert r.returncode == 0 and "syncs released" in r.stdout, r.stdout
    assert bed.agent.haesctl("sync", "release").stdout.startswith("syncs are not held")
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 300
    kinds = [e["kind"] for e in bed.events()]
    assert "sync_hold" in kinds and "sync_release" in kinds


def test_a_failover_during_verify_restore_never_touches_the_new_active_cluster(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    assert sync_now(bed).returncode == 0
    bed.dc2.set_snapshot_speed(100_000)  # the scratch restore on dc2 copies for ~6 s
    t, result = in_background(lambda: bed.agent.haesctl("verify-restore", timeout=120))
    wait_for(lambda: "haes-verify-orders" in bed.dc2.state()["indices"], 30, what="the scratch restore on dc2")
    bed.dc2.control("/counters/reset", {})
    r = bed.agent.haesctl("failover", "--to", "dc2", "--force", "--reason", "dc1 lost")
    assert r.returncode == 0, r.stdout
    t.join(60)
    out = result["r"]
    assert out.returncode == 1, out.stdout
    assert "roles changed" in out.stdout and "stopped before deleting haes-verify-orders on dc2" in out.stdout, out.stdout
    assert "scratch index(es) left on dc2: haes-verify-orders" in out.stdout, out.stdout
    # On dc2's side: after the role change, the only write is the restore
    # sent before it (essim counts a request when it ends); nothing deleted,
    # nothing counted or listed either: besides that restore, dc2 only saw
    # the health monitor's GET / and GET _cluster/health.
    counters = bed.dc2.counters()["total"]
    writes = writes_in(counters)
    assert writes == {"POST snapshot.restore": 1}, writes
    assert endpoints(counters) <= {"root", "cluster.health", "snapshot.restore"}, counters
    assert "haes-verify-orders" in bed.dc2.state()["indices"]
    assert bed.dc2.count("haes-verify-orders") == 300  # the scratch copy stays, untouched
    ev = [e for e in bed.events() if e["kind"] == "verify_restore_failed"]
    assert ev and "roles changed" in ev[-1]["message"], ev
    assert bed.metric("haes_sync_guard_refusals_total") >= 1
    assert bed.status()["sync"]["last_verify_ok"] is False


def test_the_agent_stops_at_once_mid_snapshot_and_mid_restore(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    for slow, step in ((bed.dc1, "snapshot"), (bed.dc2, "restore")):
        slow.set_snapshot_speed(50_000)  # the step runs ~12 s
        t, result = in_background(lambda: sync_now(bed))
        bed.wait_status(lambda s: s["sync"]["running"].startswith("sync: " + step), timeout=30,
                        what=f"the {step} running")
        t0 = time.monotonic()
        rc = bed.agent.proc.stop(grace=10)
        took = time.monotonic() - t0
        t.join(30)
        assert rc == 0, bed.agent.proc.log()[-2000:]
        assert took < 2.0, f"the agent took {took:.1f} s to stop mid-{step}"
        log = bed.agent.proc.log()
        assert "haes-agent stopped" in log and "destroyed while" not in log, log[-2000:]
        slow.set_snapshot_speed(100_000_000)
        bed.agent.start(procs)
    # Nothing was left half-done that a sync cannot redo.
    wait_for(lambda: sync_now(bed).returncode == 0, 60, what="a successful sync after the restarts")
    assert bed.dc2.count("orders") == 300


def test_a_switchover_and_sync_now_wait_for_the_running_sync_then_proceed(procs, tmp_path):
    bed = start(procs, tmp_path, haproxy=False)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    bed.dc1.set_snapshot_speed(100_000)  # the running sync's snapshot: ~6 s
    t1, first = in_background(lambda: sync_now(bed))
    bed.wait_status(lambda s: s["sync"]["running"].startswith("sync: snapshot"), what="a sync running")
    t2, switch = in_background(lambda: bed.agent.haesctl("switchover", "--to", "dc2", "--reason", "maintenance",
                                                         timeout=120))
    bed.wait_status(lambda s: "[waiting for it: switchover to dc2 by operator" in s["sync"]["running"],
                    what="the switchover waiting")
    t3, later = in_background(lambda: sync_now(bed))
    bed.wait_status(lambda s: "; sync now by operator" in s["sync"]["running"], what="sync now waiting behind it")
    running = [line for line in bed.agent.haesctl("status").stdout.splitlines() if line.startswith("running: ")]
    assert running[0].startswith("running: sync: snapshot haes-e1-"), running
    assert "[waiting for it: switchover to dc2 by operator" in running[0], running
    bed.dc1.set_snapshot_speed(100_000_000)
    for t in (t1, t2, t3):
        t.join(120)
    assert first["r"].returncode == 0, first["r"].stdout
    sw = switch["r"]
    assert sw.returncode == 0, sw.stdout
    assert "waited " in sw.stdout and "for the running sync (snapshot haes-e1-" in sw.stdout, sw.stdout
    assert "dc1 -> dc2 without loss" in sw.stdout, sw.stdout
    assert bed.status()["active"] == "dc2"
    # Queued behind the switchover: ran after it, in the new direction.
    after = later["r"]
    assert after.returncode == 0, after.stdout
    assert "and the 1 operation(s) waiting before this one" in after.stdout, after.stdout
    assert "from dc2 to dc1" in after.stdout, after.stdout
    assert bed.dc1.count("orders") == 300
    assert bed.status()["sync"]["running"] == ""
