"""Found by the kill campaign (seed 1203, iteration 35; the kill is not
needed): after a planned switchover dc1 -> dc2, dc1 keeps its write block
until the next sync replaces its indices (docs/sync.md). If dc2 fails before
that sync, the automatic failover makes dc1 active with its indices still
write-blocked: every write through HAProxy gets 403 cluster_block_exception,
and status showed no `writes_blocked`. Fixed: the switchover's write-block
marker stays while dc1 is passive (status shows it) and the agent lifts the
block as soon as dc1 is active again."""

import json


from haestest.bed import Bed, sync_config
from haestest.essim import http
from haestest.proc import wait_for

SYNC = {"failover": {"interval": "400ms", "timeout": "300ms", "fail_threshold": 3, "hold_down": "0s"},
        **sync_config()}


def test_failover_to_the_old_active_cluster_before_a_sync_takes_writes(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, agent_extra=json.loads(json.dumps(SYNC)))
    bed.hap.wait_servers("es_dc1", "UP")
    assert http("PUT", bed.hap.url + "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})[0] == 200
    bed.wait_status(lambda s: s["sync"]["last_result"] != "" and s["sync"]["running"] == "", timeout=30)
    assert bed.agent.haesctl("sync", "now", timeout=120).returncode == 0
    r = bed.agent.haesctl("switchover", "--to", "dc2", timeout=120)
    assert r.returncode == 0, r.stdout
    # dc1, passive now, keeps its block; status says so.
    assert bed.status()["sync"]["writes_blocked"] == "dc1"
    bed.dc2.force_red()
    bed.wait_status(lambda s: s["active"] == "dc1", timeout=20, what="the failover back to dc1")
    bed.dc2.heal()
    wait_for(lambda: http("PUT", bed.hap.url + "/orders/_doc/after?refresh=true", {"n": 1})[0] in (200, 201), 20,
             what="a write through HAProxy accepted by dc1")
    assert any(e["kind"] == "write_block_lifted" for e in bed.events()), bed.events()
