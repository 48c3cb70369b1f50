"""Several agents: the leader is killed (SIGKILL) in the middle of a sync —
while its snapshot is being taken on the active cluster, or while its
restore is copying on the passive one — and the agent that leads next takes
the sync over cleanly (issue 10, item 2): it recognises the work the dead
leader left running in Elasticsearch (the restore is waited for, never
failed with Elasticsearch's raw "being restored" error), syncs every
document, leaves no index of the passive cluster closed or red, the
repository written only by the active cluster, and no instant where two
agents answered positive for different clusters."""

from __future__ import annotations

import json
import threading

import pytest

from haestest.proc import wait_for
from haestest.trio import Trio

SYNC = {"sync": {"interval": "10s", "indices": ["orders*"], "timeout": "2m",
                 "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}}}


def last_sync(agent) -> dict:
    return agent.status()["sync"]


@pytest.mark.parametrize("phase", ["snapshot", "restore"])
def test_a_new_leader_takes_over_a_sync_its_killed_predecessor_left_half_done(procs, tmp_path, phase):
    trio = Trio(procs, tmp_path, agents=2, extra=json.loads(json.dumps(SYNC)))
    trio.dc1.create_index("orders", shards=1, replicas=0)
    trio.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(300)})
    leader = trio.leader()
    other = next(a for a in trio.agents if a is not leader)
    wait_for(lambda: last_sync(leader)["last_result"] == "ok" and trio.dc2.count("orders") == 300, 60,
             what="the leader's first complete sync")
    trio.dc1.bulk_index("orders", {i: {"pad": "y" * 2000} for i in range(300, 600)})
    # ~1.2 MB at 100 kB/s: the step takes about 10 s, time enough to kill the leader in it.
    (trio.dc1 if phase == "snapshot" else trio.dc2).set_snapshot_speed(100_000)
    t = threading.Thread(target=lambda: leader.run.haesctl("sync", "now", timeout=120), daemon=True)
    t.start()
    want = "sync: snapshot" if phase == "snapshot" else "sync: restore"
    wait_for(lambda: last_sync(leader)["running"].startswith(want), 30, interval=0.1, what=f"the leader's {phase}")
    leader.run.proc.kill9()
    t.join(30)
    # The other agent leads within the lease TTL, and its scheduled sync
    # (due: the last one finished more than an interval ago) brings dc2 up to date.
    wait_for(lambda: other.status()["pair"]["this_is_leader"], 15, what=f"{other.name} leading")
    wait_for(lambda: trio.dc2.count("orders") == 600, 120, interval=0.5, what="every document on dc2")
    s = wait_for(lambda: (lambda x: x if x["last_result"] == "ok" and x["running"] == "" else None)(last_sync(other)),
                 60, what=f"{other.name}'s sync ok")
    assert s["source"] == "dc1" and s["target"] == "dc2", s
    assert s["repository"] == {"dc1": "writer", "dc2": "readonly"}, s
    # Nothing half-done on the passive cluster: every orders index open and green.
    cat = trio.dc2.ok("GET", "/_cat/indices/orders*?format=json")
    assert cat and all(i["status"] == "open" and i["health"] == "green" for i in cat), cat
    # The restore the dead leader left running was recognised, not failed on.
    events = json.loads(other.run.haesctl("events", "50", "--json").stdout)["events"]
    raw = [e["message"] for e in events if "Cannot close indices that are being restored" in e.get("message", "")]
    assert not raw, raw
    # Only one role, throughout: no failover, one active cluster at every instant.
    # (trio.failovers() asks the first agent, which may be the dead one.)
    assert not [e for e in events if e["kind"] in ("failover", "forced_failover")], events
    # The killed agent, restarted, follows: it does not sync on its own.
    leader.run.start(procs)
    wait_for(lambda: leader.status()["pair"]["leader"] == other.name, 20, what="the restarted agent following")
    trio.check()
