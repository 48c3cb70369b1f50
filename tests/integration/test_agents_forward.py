"""Several agents: a command only the leader runs (a planned switchover or
failback, a sync, a restore test, a CCR refollow) typed on a follower is sent to the
leader's admin port and answered from there (docs/admin.md "Several
agents"); without a way to reach the leader it is refused, naming the
leader and where to run it."""

from __future__ import annotations

import json

from haestest.proc import wait_for
from haestest.trio import Trio


def follower_of(trio, leader):
    return next(a for a in trio.agents if a is not leader)


def wait_first_sync(agent):
    wait_for(lambda: agent.status()["sync"]["last_result"] != "", 60, what=f"{agent.name}'s first sync")


SYNC = {"sync": {"interval": "1h", "indices": ["orders*"],
                 "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}}}


def test_a_planned_switchover_typed_on_a_follower_runs_on_the_leader(procs, tmp_path):
    trio = Trio(procs, tmp_path, agents=2, admin_ports=True, extra=SYNC)
    trio.dc1.create_index("orders-1")
    trio.dc1.bulk_index("orders-1", {f"o{i}": {"n": i} for i in range(20)})
    leader = trio.leader()
    follower = follower_of(trio, leader)
    wait_first_sync(leader)
    # Only the leader syncs on its own: one snapshot, taken by it; the
    # follower logged why it skips (several agents never snapshot at once).
    snaps = trio.dc1.ok("GET", "/_snapshot/haes/_all")["snapshots"]
    assert len(snaps) == 1, snaps
    follower.run.proc.wait_log("scheduled syncs skipped: this agent may not run automatic work now")
    r = follower.run.haesctl("switchover", "--to", "dc2", "--reason", "planned move", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"(run on the leader {leader.name})"), r.stdout
    trio.wait_all_positive("dc2", timeout=20)
    # The final sync ran (on the leader): dc2 has every document.
    assert trio.dc2.count("orders-1") == 20
    # Journaled on the leader with the operator who typed it, via the follower.
    events = json.loads(leader.run.haesctl("events", "5", "--json").stdout)["events"]
    mine = [e for e in events if e["kind"] == "switchover"]
    assert mine and "(via token@127.0.0.1" in mine[-1]["actor"], events
    assert mine[-1]["actor"].startswith("operator "), mine[-1]
    # A refusal from the leader comes back as a refusal (exit 1, its code).
    again = follower.run.haesctl("switchover", "--to", "dc2", "--json")
    assert again.returncode == 1, again.stdout
    assert json.loads(again.stdout)["code"] == "already_active"
    trio.check()


def test_without_an_admin_port_the_follower_names_the_leader(procs, tmp_path):
    trio = Trio(procs, tmp_path, agents=2, extra=SYNC)
    leader = trio.leader()
    follower = follower_of(trio, leader)
    r = follower.run.haesctl("switchover", "--to", "dc2")
    assert r.returncode == 1, r.stdout
    assert f"runs on the leader {leader.name}" in r.stdout and "admin port" in r.stdout, r.stdout
    # Nothing moved; the leader itself runs it.
    assert json.loads(follower.run.haesctl("status", "--json").stdout)["active"] == "dc1"
    wait_first_sync(leader)
    ok = leader.run.haesctl("switchover", "--to", "dc2", timeout=120)
    assert ok.returncode == 0, ok.stdout
    wait_for(lambda: follower.status()["active"] == "dc2", 10, what="the follower sees dc2 active")
    trio.check()


CCR = {"sync": {"mode": "ccr",
                "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
                "ccr": {"indices": ["logs-*"], "manage": True, "poll_interval": "1s", "timeout": "20s",
                        "transport_port": 0}}}


def test_ccr_refollow_typed_on_a_follower_runs_on_the_leader(procs, tmp_path):
    trio = Trio(procs, tmp_path, agents=2, admin_ports=True, extra=json.loads(json.dumps(CCR)))
    trio.dc1.create_index("logs-a")
    trio.dc1.bulk_index("logs-a", {n: {"n": n} for n in range(5)})
    leader = trio.leader()
    follower = follower_of(trio, leader)
    wait_for(lambda: trio.dc2.count("logs-a") == 5, 30, what="logs-a followed on dc2")
    trio.dc1.force_red()
    trio.wait_all_positive("dc2", timeout=30)
    trio.dc1.heal()
    wait_for(lambda: leader.status()["clusters"][0]["health"] == "green", 20, what="dc1 green again")
    # --dry-run, typed on the follower: answered by the leader, nothing deleted.
    r = follower.run.haesctl("ccr", "refollow", "--dry-run", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"(run on the leader {leader.name})"), r.stdout
    assert "would delete 1 index(es): logs-a" in r.stdout, r.stdout
    assert trio.dc1.count("logs-a") == 5
    r = follower.run.haesctl("ccr", "refollow", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"(run on the leader {leader.name})"), r.stdout
    info = trio.dc1.ok("GET", "/_all/_ccr/info")["follower_indices"]
    assert [f["follower_index"] for f in info] == ["logs-a"], info
    events = json.loads(leader.run.haesctl("events", "20", "--json").stdout)["events"]
    mine = [e for e in events if e["kind"] == "ccr_refollow"]
    assert len(mine) == 1 and "(via token@127.0.0.1" in mine[0]["actor"], events
    trio.check()


def test_a_command_sent_to_an_agent_that_does_not_lead_is_not_sent_on(procs, tmp_path):
    # a2 leads but advertises a1's admin port (a wrong admin.port.advertise_url):
    # a1 sends a command "to the leader" and reaches itself. It must refuse
    # there, not send it on again (before: a loop, one TLS connection per hop).
    trio = Trio(procs, tmp_path, agents=2, admin_ports=True, extra=json.loads(json.dumps(SYNC)))
    trio.dc1.create_index("orders-1")
    trio.dc1.bulk_index("orders-1", {f"o{i}": {"n": i} for i in range(20)})
    a1, a2 = trio.agents
    a1_admin = "https://" + a1.run.extra["admin"]["port"]["listen"]
    a1.run.stop()
    a2.run.stop()
    a2.run.extra["admin"]["port"]["advertise_url"] = a1_admin
    a2.run.start(procs)
    wait_for(lambda: a2.status()["pair"]["this_is_leader"], 20, what="a2 leading")
    a1.run.start(procs)
    wait_for(lambda: a1.status()["pair"]["leader"] == "a2", 20, what="a1 following a2")
    wait_first_sync(a2)
    r = a1.run.haesctl("switchover", "--to", "dc2", timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith(f"error: (sent to the leader a2 at {a1_admin}, which answered:)"), r.stdout
    assert "was sent here by another agent as to the leader, but this agent is not the leader (a2 is); " \
           "not sent on again" in r.stdout, r.stdout
    a1.run.proc.wait_log("sent to the leader a2")
    assert a1.status()["active"] == "dc1" and a2.status()["active"] == "dc1"
    # Typed on the leader, it runs.
    ok = a2.run.haesctl("switchover", "--to", "dc2", timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    trio.wait_all_positive("dc2", timeout=20)
    trio.check()
