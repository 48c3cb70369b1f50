"""Passive readiness end to end (docs/readiness.md): two essim clusters,
the agent syncing `orders*` and reading vitals every second. dc2's disk
filled, a synced index closed on dc2, a node of dc2 stopped: readiness says
no with the reason (status, JSON, /metrics, journal); a planned switchover
to dc2 is refused for the disk and the node (its final sync cannot mend
them, it does mend the closed index), `--force` proceeds; an automatic
failover is not blocked but its journal entry says what was not ready."""

import re

from haestest.bed import Bed, sync_config
from haestest.proc import wait_for

CFG = {"vitals": {"interval": "1s", "timeout": "800ms"}, **sync_config()}


def start(procs, tmp_path, nodes=2):
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra=CFG, nodes=nodes)
    bed.seed_orders(replicas=1)
    bed.wait_status(lambda s: s["readiness"]["ready"] == "yes" and s["readiness"]["indices_expected"] == 1,
                    timeout=20, what="dc2 ready, holding orders")
    return bed


def ready_line(bed):
    text = bed.agent.haesctl("status").stdout
    m = re.search(r"^ready to take over: .*$", text, re.M)
    assert m, text
    return m.group(0)


def wait_no(bed, code):
    s = bed.wait_status(lambda s: s["readiness"]["ready"] == "no", timeout=20, what=f"readiness no ({code})")
    assert [r["code"] for r in s["readiness"]["reasons"]] == [code], s["readiness"]
    assert bed.metric("haes_passive_ready") == 0
    assert bed.metric("haes_passive_readiness_problem", reason=code) == 1
    return s["readiness"]["reasons"][0]["text"]


def refused(bed, reason):
    r = bed.agent.haesctl("switchover", "--to", "dc2", timeout=120)
    assert r.returncode == 1, r.stdout
    assert f"error: dc2 is not ready to take over: {reason}" in r.stdout, r.stdout
    assert "add --force to switchover anyway" in r.stdout
    assert bed.status()["active"] == "dc1"
    assert any(e["kind"] == "refused" and reason in e["message"] for e in bed.events())


def test_a_full_disk_refuses_the_switchover_and_force_proceeds(procs, tmp_path):
    bed = start(procs, tmp_path)
    assert ready_line(bed) == "ready to take over: yes (dc2)"
    assert bed.metric("haes_passive_ready") == 1
    assert bed.status()["readiness"]["indices_expected"] == 1
    bed.dc2.set_disk("dc2-n1", used_percent=93)
    reason = wait_no(bed, "disk_watermark")
    assert reason == "dc2 disk over the high watermark (90%), no shard allocated there: dc2-n1 93%"
    assert ready_line(bed) == f"ready to take over: no: {reason} (dc2)"
    ev = [e for e in bed.events() if e["kind"] == "readiness"]
    assert ev and ev[-1]["message"] == f"dc2 ready to take over: no: {reason}", ev
    refused(bed, reason)
    r = bed.agent.haesctl("switchover", "--to", "dc2", "--force", timeout=120)
    assert r.returncode == 0, r.stdout
    assert bed.status()["active"] == "dc2"
    ev = [e for e in bed.events() if e["kind"] == "readiness_overridden"]
    assert ev and ev[0]["message"] == f"switchover to dc2 forced although dc2 is not ready: {reason}", ev


def test_a_closed_synced_index_says_no_and_a_failover_says_so(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc2.ok("POST", "/orders/_close")
    reason = wait_no(bed, "index_closed")
    assert reason == "1 synced index(es) closed on dc2: orders"
    # A planned switchover is not refused for it: its final restore reopens the index.
    r = bed.agent.haesctl("switchover", "--to", "dc2", "--dry-run", timeout=60)
    assert r.returncode == 0 and "not ready" not in r.stdout, r.stdout
    # The robot is never blocked by readiness: dc1 red fails over to dc2.
    bed.dc1.force_red()
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=30, what="the automatic failover to dc2")
    ev = [e for e in bed.events() if e["kind"] == "failover"]
    assert ev and ev[-1]["message"].endswith(f"; dc2 was not ready: {reason}"), ev


def test_a_missing_node_says_no_until_it_is_back(procs, tmp_path):
    bed = start(procs, tmp_path, nodes=3)  # two of three keep a master
    bed.dc2.stop_node("dc2-n3")
    reason = wait_no(bed, "nodes_missing")
    assert reason == "dc2 has 2 of its 3 configured nodes"
    refused(bed, reason)
    bed.dc2.start_node("dc2-n3")
    bed.wait_status(lambda s: s["readiness"]["ready"] == "yes", timeout=20, what="dc2 ready again")
    wait_for(lambda: any(e["kind"] == "readiness" and e["message"] == "dc2 ready to take over: yes"
                         for e in bed.events()), 10, what="the journal saying dc2 is ready again")
