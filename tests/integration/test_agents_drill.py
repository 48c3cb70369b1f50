"""Several agents and DR drills (docs/drills.md, issue 15 with issue 10):
the drill reports are a document of the shared state store, so every agent
shows the same reports; a drill typed on a follower runs on the leader; and
a leader killed (SIGKILL) mid-drill, with dc2 active and the scratch index
being written, is undone by the agent that leads next — dc1 active and
writable again, the scratch index gone, the report closed as interrupted —
with no instant where two agents answered positive for different
clusters."""

from __future__ import annotations

import json
import threading

from haestest.proc import wait_for
from haestest.trio import Trio

EXTRA = {"sync": {"interval": "10s", "indices": ["orders*"], "timeout": "2m",
                  "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}},
         "vitals": {"interval": "1s", "timeout": "800ms"},
         "drill": {"documents": 3000}}  # the write step lasts seconds: time to kill the leader in it


def reports(agent, n: int = 1) -> list:
    r = agent.run.haesctl("drill", "report", str(n), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)["reports"]


def scratch_indices(cluster) -> list:
    return [i for i in cluster.state()["indices"] if i.startswith("haes-drill-")]


def test_a_leader_killed_mid_drill_is_undone_by_the_next_leader(procs, tmp_path):
    trio = Trio(procs, tmp_path, agents=2, extra=json.loads(json.dumps(EXTRA)), admin_ports=True)
    trio.dc1.create_index("orders", shards=1, replicas=0)
    trio.dc1.bulk_index("orders", {i: {"n": i} for i in range(50)})
    leader = trio.leader()
    other = next(a for a in trio.agents if a is not leader)
    r = leader.run.haesctl("sync", "now", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: leader.status()["readiness"]["ready"] == "yes", 30, what="dc2 ready on the leader")
    assert "no drill yet" in other.run.haesctl("drill", "report").stdout
    # Typed on the follower: forwarded to the leader, which runs it.
    t = threading.Thread(target=lambda: other.run.haesctl("drill", timeout=180), daemon=True)
    t.start()
    wait_for(lambda: leader.status()["active"] == "dc2", 60, what="the drill's switchover to dc2")
    wait_for(lambda: scratch_indices(trio.dc2), 20, what="the drill writing on dc2")
    # The follower reads the running report from etcd.
    running = wait_for(lambda: (lambda r: r if r and r[-1]["running"] else None)(reports(other)), 10,
                       what="the running report seen by the follower")[-1]
    assert (running["from"], running["to"]) == ("dc1", "dc2"), running
    assert [s["step"] for s in running["steps"]][:2] == ["readiness_before", "switchover"], running

    leader.run.proc.kill9()
    t.join(30)
    wait_for(lambda: other.status()["pair"]["this_is_leader"], 15, what=f"{other.name} leading")
    wait_for(lambda: other.status()["active"] == "dc1", 90, what="dc1 active again, by the new leader")
    closed = wait_for(lambda: (lambda r: r if r and not r[-1]["running"] else None)(reports(other)), 30,
                      what="the drill report closed")[-1]
    assert closed["id"] == running["id"], closed
    assert not closed["ok"] and closed["rolled_back"], closed
    assert closed["reason"] == "interrupted: the agent stopped during the drill; dc1 is active again", closed
    assert [s["step"] for s in closed["steps"]][-2:] == ["cleanup", "switch_back"], closed
    status, _ = trio.dc1.es("PUT", "/orders/_doc/probe?refresh=true", {"n": 1})
    assert status in (200, 201)
    for c in (trio.dc1, trio.dc2):
        assert not scratch_indices(c), c.name
    events = json.loads(other.run.haesctl("events", "50", "--json").stdout)["events"]
    undone = [e for e in events if e["kind"] == "drill_failed"]
    assert undone and undone[-1]["actor"] == f"agent {other.name} (recovering drill {running['id']})", undone
    # The killed agent, restarted, follows and shows the same report; it
    # does not undo the drill a second time.
    leader.run.start(procs)
    wait_for(lambda: leader.status()["pair"]["leader"] == other.name, 20, what="the restarted agent following")
    assert reports(leader)[-1] == closed
    events = json.loads(other.run.haesctl("events", "50", "--json").stdout)["events"]
    assert len([e for e in events if e["kind"] == "drill_failed"]) == 1, events
    trio.check()
