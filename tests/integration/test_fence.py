"""Fencing beyond HAProxy (docs/failover.md, "Fencing and failback"): after a
failover, a client that writes to the old active cluster directly, not
through HAProxy, is refused by a write block on its synced indices, put as
soon as that cluster answers and kept while it is fenced (the syncs restore
onto it blocked too); it is lifted when that cluster becomes active again.
Two essim clusters, real HAProxy, the agent with a sync."""

import json

from haestest.bed import Bed, sync_config
from haestest.essim import http
from haestest.proc import wait_for

SYNC = {"failover": {"interval": "400ms", "timeout": "300ms", "fail_threshold": 3, "hold_down": "0s"},
        **sync_config()}


def start(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, agent_extra=json.loads(json.dumps(SYNC)))
    bed.hap.wait_servers("es_dc1", "UP")
    assert http("PUT", bed.hap.url + "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})[0] == 200
    bed.wait_status(lambda s: s["sync"]["last_result"] != "" and s["sync"]["running"] == "", timeout=30,
                    what="the first sync")
    return bed


def direct_write(cluster, doc_id):
    """A client that bypasses HAProxy: writes to the cluster's own node."""
    return cluster.es("PUT", f"/orders/_doc/{doc_id}?refresh=true", {"n": 1})


def events(bed, kind):
    return [e for e in bed.events() if e["kind"] == kind]


def test_the_old_active_cluster_refuses_direct_writes_while_fenced(procs, tmp_path):
    bed = start(procs, tmp_path)
    assert direct_write(bed.dc1, "before")[0] in (200, 201)  # the active cluster takes direct writes
    assert bed.agent.haesctl("sync", "now", timeout=120).returncode == 0
    bed.dc1.force_red()
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=20, what="the failover to dc2")
    bed.dc1.heal()  # green again, reachable: still fenced, gets no traffic from HAProxy
    s = bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc1", timeout=20, what="the fence on dc1")
    assert s["sync"]["writes_blocked_by_fence"] is True
    assert "fenced by a failover" in bed.agent.haesctl("status").stdout
    ev = events(bed, "fence_writes")
    assert len(ev) == 1 and "dc1" in ev[0]["message"], bed.events()
    status, out = direct_write(bed.dc1, "bypass")
    assert status == 403 and out["error"]["type"] == "cluster_block_exception", (status, out)
    # Writes through HAProxy go to dc2 (once HAProxy's checks see its nodes UP) and are not blocked.
    bed.hap.wait_servers("es_dc2", "UP")
    assert http("PUT", bed.hap.url + "/orders/_doc/routed?refresh=true", {"n": 2})[0] in (200, 201)
    # A sync from dc2 replaces dc1's indices: they come back blocked while dc1 is fenced.
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green again")
    r = bed.agent.haesctl("sync", "now", timeout=120)
    assert r.returncode == 0 and "from dc2 to dc1" in r.stdout, r.stdout
    assert bed.dc1.count("orders") == bed.dc2.count("orders")
    status, out = direct_write(bed.dc1, "bypass-2")
    assert status == 403 and out["error"]["type"] == "cluster_block_exception", (status, out)
    assert bed.status()["sync"]["writes_blocked"] == "dc1"
    # dc1 active again (an operator's failover): the block is lifted at once.
    r = bed.agent.haesctl("failover", "--to", "dc1", timeout=60)
    assert r.returncode == 0, r.stdout
    wait_for(lambda: direct_write(bed.dc1, "after")[0] in (200, 201), 20, what="dc1 taking writes again")
    wait_for(lambda: len(events(bed, "unfence_writes")) == 1, 10, what="the unfence_writes event")
    # dc2 lost the role by that failover: it is fenced now, and blocked in its turn.
    bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc2", timeout=20, what="the fence on dc2")
    assert direct_write(bed.dc2, "bypass-3")[0] == 403


def test_an_unreachable_fenced_cluster_is_blocked_once_it_answers(procs, tmp_path):
    bed = start(procs, tmp_path)
    assert bed.agent.haesctl("sync", "now", timeout=120).returncode == 0
    for n in range(len(bed.dc1.node_names)):
        bed.dc1.stop_node(n)
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=20, what="the failover to dc2")
    # Nothing can be put on a cluster that does not answer: no marker, no event.
    s = bed.status()
    assert s["sync"]["writes_blocked"] == "" and not events(bed, "fence_writes")
    for n in range(len(bed.dc1.node_names)):
        bed.dc1.start_node(n)
    bed.wait_status(lambda s: s["sync"]["writes_blocked"] == "dc1", timeout=20, what="the fence once dc1 answers")
    status, out = direct_write(bed.dc1, "bypass")
    assert status == 403 and out["error"]["type"] == "cluster_block_exception", (status, out)
