"""Cluster vitals end to end: two essim clusters of three nodes, the agent
reading their vitals every second. A node's disk and heap set on essim's
control port move /metrics and the `# vitals` line of `haesctl status`; the
flood-stage block, a stopped node, and a node failing the vitals requests
show as they should; failing vitals of the active cluster never move traffic."""

import re

import pytest

from haestest.bed import Bed
from haestest.proc import wait_for

VITALS = {"vitals": {"interval": "1s", "timeout": "800ms"}}


def start(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False, nodes=3, agent_extra=VITALS)
    bed.wait_status(lambda s: all(c["read"] for c in s["vitals"]["clusters"]), what="a first vitals read")
    return bed


def vitals_line(bed, cluster):
    text = bed.agent.haesctl("status").stdout
    section = text.split("# vitals\n", 1)[1].split("\n# ", 1)[0]
    for line in section.splitlines():
        if line.startswith(cluster + ": "):
            return line
    raise AssertionError(f"no vitals line for {cluster} in:\n{text}")


def wait_metric(bed, name, pred, what, timeout=15, **labels):
    return wait_for(lambda: (lambda v: v is not None and pred(v))(bed.metric(name, **labels)), timeout,
                    what=what)


def wait_line(bed, cluster, needle, timeout=15):
    seen = {}

    def check():
        seen["line"] = vitals_line(bed, cluster)
        return needle in seen["line"] if isinstance(needle, str) else needle.search(seen["line"])
    try:
        wait_for(check, timeout, what=f"vitals line of {cluster} with {needle!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last line: {seen.get('line')}") from None
    return seen["line"]


def test_set_disk_and_heap_move_the_metrics_and_the_status_line(procs, tmp_path):
    bed = start(procs, tmp_path)
    # essim's defaults: every disk and heap 30 % used.
    assert bed.metric("haes_cluster_disk_used_ratio", cluster="dc1", node="dc1-n2") == pytest.approx(0.30)
    assert bed.metric("haes_cluster_heap_used_ratio", cluster="dc2", node="dc2-n1") == pytest.approx(0.30, abs=0.01)
    assert bed.metric("haes_cluster_nodes", cluster="dc1") == 3
    assert bed.metric("haes_cluster_nodes_configured", cluster="dc1") == 3
    assert bed.metric("haes_cluster_unassigned_shards", cluster="dc1") == 0
    assert bed.metric("haes_cluster_read_only_block", cluster="dc1") == 0
    assert bed.metric("haes_cluster_vitals_read_ok", cluster="dc1") == 1
    assert bed.metric("haes_cluster_vitals_level", cluster="dc1", level="ok") == 1
    assert bed.metric("haes_vitals_reads_total", cluster="dc1", result="ok") >= 1
    line = vitals_line(bed, "dc1")
    assert re.match(r"dc1: ok, disk 30% max \(dc1-n\d\), heap 30% max \(dc1-n\d\), nodes 3/3 configured, "
                    r"unassigned_shards 0, read \d+s ago from es1$", line), line

    bed.dc1.set_disk("dc1-n2", used_percent=91)
    bed.dc1.set_heap("dc1-n3", used_percent=90)
    wait_metric(bed, "haes_cluster_disk_used_ratio", lambda v: abs(v - 0.91) < 0.001, "dc1-n2's disk at 91 %",
                cluster="dc1", node="dc1-n2")
    wait_metric(bed, "haes_cluster_heap_used_ratio", lambda v: abs(v - 0.90) < 0.01, "dc1-n3's heap at 90 %",
                cluster="dc1", node="dc1-n3")
    line = wait_line(bed, "dc1", "dc1: critical, disk 91% max (dc1-n2), heap 90% max (dc1-n3), nodes 3/3")
    assert "disk 91% used on dc1-n2, over 90%" in line and "heap 90% used on dc1-n3, over 85%" in line, line
    assert bed.metric("haes_cluster_vitals_level", cluster="dc1", level="critical") == 1
    # The other cluster and the other nodes did not move.
    assert vitals_line(bed, "dc2").startswith("dc2: ok, disk 30% max"), vitals_line(bed, "dc2")
    assert bed.metric("haes_cluster_disk_used_ratio", cluster="dc1", node="dc1-n1") == pytest.approx(0.30)
    # JSON carries the same reading.
    v = bed.status()["vitals"]["clusters"][0]
    assert v["cluster"] == "dc1" and v["level"] == "critical" and v["disk_max_node"] == "dc1-n2"
    assert [n["name"] for n in v["nodes"]] == ["dc1-n1", "dc1-n2", "dc1-n3"]
    # Vitals never move traffic: dc1 is still active and may take it.
    s = bed.status()
    assert s["active"] == "dc1" and s["may_take_traffic"] == "dc1"

    # Back to 50 %: a warning no more.
    bed.dc1.set_disk("dc1-n2", used_percent=50)
    bed.dc1.set_heap("dc1-n3", used_percent=40)
    wait_line(bed, "dc1", "dc1: ok, disk 50% max (dc1-n2), heap 40% max (dc1-n3)")


def test_flood_stage_block_a_stopped_node_and_failing_vitals_requests(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc1.create_index("logs", shards=3, replicas=1)
    # Over the flood stage (95 %): ES puts read_only_allow_delete on every
    # index with a shard on the node.
    bed.dc1.set_disk("dc1-n1", used_percent=96)
    wait_metric(bed, "haes_cluster_read_only_block", lambda v: v == 1, "the flood-stage block", cluster="dc1")
    assert bed.metric("haes_cluster_read_only_indices", cluster="dc1") == 1
    line = wait_line(bed, "dc1", "read_only_indices 1")
    assert "1 index(es) read-only by the flood-stage disk watermark, writes refused: logs" in line, line
    assert bed.status()["vitals"]["clusters"][0]["read_only_indices"] == ["logs"]
    # Under the high watermark again: ES lifts the block, and so does the metric.
    bed.dc1.set_disk("dc1-n1", used_percent=50)
    wait_metric(bed, "haes_cluster_read_only_block", lambda v: v == 0, "the block lifted", cluster="dc1")

    # A node stops: 2 of 3 configured, its replicas unassigned.
    bed.dc1.stop_node("dc1-n3")
    wait_metric(bed, "haes_cluster_nodes", lambda v: v == 2, "dc1 down to 2 nodes", cluster="dc1")
    line = wait_line(bed, "dc1", "nodes 2/3 configured")
    assert "2 node(s) in the cluster, 3 configured in haes" in line, line
    assert bed.metric("haes_cluster_disk_used_ratio", cluster="dc1", node="dc1-n3") is None, \
        "a node out of the cluster has no disk series"

    # The node vitals are read from refuses them: the next one answers.
    bed.dc2.fail_node("dc2-n1", status=500, path="/_nodes/stats")
    before = bed.metric("haes_vitals_reads_total", cluster="dc2", result="ok")
    wait_line(bed, "dc2", re.compile(r"from es2$"))
    assert bed.metric("haes_vitals_reads_total", cluster="dc2", result="ok") > before
    assert bed.metric("haes_vitals_reads_total", cluster="dc2", result="failed") == 0
    # Every node refuses: the last reading stays, with its age, and the error shows.
    for n in ("dc2-n2", "dc2-n3"):
        bed.dc2.fail_node(n, status=500, path="/_nodes/stats")
    wait_metric(bed, "haes_cluster_vitals_read_ok", lambda v: v == 0, "dc2's vitals read failing", cluster="dc2")
    line = vitals_line(bed, "dc2")
    assert "LAST READ FAILED: no node answered the vitals requests (es2: GET /_nodes/stats/fs,jvm: HTTP 500" in line, \
        line
    assert bed.metric("haes_vitals_reads_total", cluster="dc2", result="failed") >= 1
    assert bed.metric("haes_cluster_disk_used_ratio", cluster="dc2", node="dc2-n1") == pytest.approx(0.30)
    # Health rounds are untouched: dc2 is green, every node answers its probe.
    s = bed.status()
    assert s["clusters"][1]["health"] == "green"
    assert all(n["health"] == "green" for n in s["clusters"][1]["nodes"])


def test_failing_vitals_of_the_active_cluster_are_never_a_failover_reason(procs, tmp_path):
    bed = start(procs, tmp_path)
    # Every node of the active cluster refuses the vitals requests and its
    # disks are over the critical line: shown and counted, traffic stays.
    bed.dc1.set_disk("dc1-n1", used_percent=97)
    wait_metric(bed, "haes_cluster_vitals_level", lambda v: v == 1, "dc1 critical", cluster="dc1", level="critical")
    for n in ("dc1-n1", "dc1-n2", "dc1-n3"):
        bed.dc1.fail_node(n, status=500, path="/_nodes/stats")
    wait_metric(bed, "haes_cluster_vitals_read_ok", lambda v: v == 0, "dc1's vitals read failing", cluster="dc1")
    round_then = bed.status()["health_round"]
    # More rounds than fail_threshold (3) pass with dc1's vitals failing.
    s = bed.wait_status(lambda s: s["health_round"] >= round_then + 6, what="six more health rounds")
    assert s["active"] == "dc1" and s["may_take_traffic"] == "dc1", s
    assert s["clusters"][0]["health"] == "green", s["clusters"][0]
    assert not [e for e in bed.events() if e["kind"].startswith(("failover", "forced_failover"))], bed.events()
    assert bed.metric("haes_vitals_reads_total", cluster="dc1", result="failed") >= 1
    assert "LAST READ FAILED: no node answered the vitals requests" in vitals_line(bed, "dc1")
    assert bed.metric("haes_cluster_vitals_level", cluster="dc1", level="critical") == 1, \
        "the last reading (critical) is kept while reads fail"
