"""Issue 4 end to end: real HAProxy 2.6, two essim clusters, haes-agent with
its defaults (fail_threshold 3 at a 1 s interval). Every promise is tested by
breaking things for real: a red cluster, a blip, both clusters down, a pause,
an operator's failback, kill -9 of the agent, a corrupt state file."""

import time

import pytest

from haestest.bed import Bed
from haestest.proc import wait_for


def test_steady_state_routes_to_dc1(procs, tmp_path):
    bed = Bed.start(procs, tmp_path)
    bed.hap.wait_servers("es_dc1", "UP")
    bed.hap.wait_servers("es_dc2", "DOWN")
    assert bed.served_by(10) == {"dc1"}
    s = bed.status()
    assert (s["epoch"], s["active"], s["may_take_traffic"]) == (1, "dc1", "dc1")
    assert [c["health"] for c in s["clusters"]] == ["green", "green"]
    assert s["robot"]["blocker"] == "not_bad"


def test_red_active_cluster_fails_over_within_the_bound(procs, tmp_path):
    bed = Bed.start(procs, tmp_path)
    bed.hap.wait_servers("es_dc1", "UP")
    assert bed.served_by(5) == {"dc1"}
    t0 = time.monotonic()
    bed.dc1.force_red()
    # fail_threshold (3) x interval (1 s) + 1 s, from the moment dc1 turned red.
    t1 = bed.wait_traffic_on("dc2", timeout=10)
    assert t1 - t0 <= 3 * 1.0 + 1.0, f"traffic reached dc2 after {t1 - t0:.2f}s"
    bed.hap.wait_servers("es_dc1", "DOWN", timeout=5)
    bed.hap.wait_servers("es_dc2", "UP", timeout=5)
    s = bed.status()
    assert (s["epoch"], s["active"], s["fenced"]) == (2, "dc2", ["dc1"])
    dc1 = s["clusters"][0]
    assert dc1["health"] == "red" and dc1["role"] == "fenced"  # red, not "unreachable"
    kinds = [e["kind"] for e in bed.events()]
    assert kinds.count("failover") == 1
    assert bed.metric("haes_transitions_total", kind="failover") == 1
    assert bed.metric("haes_cluster_health", cluster="dc1", state="red") == 1
    r = bed.hap.get("/")
    assert r.header("X-Haes-Epoch") == "2"


def test_unreachable_is_reported_apart_from_red(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    for n in bed.dc1.node_names:
        bed.dc1.stop_node(n)
    s = bed.wait_status(lambda s: s["active"] == "dc2", what="failover after dc1 stopped")
    dc1 = s["clusters"][0]
    assert dc1["health"] == "unreachable"
    assert {n["failure"] for n in dc1["nodes"]} == {"connect"}
    assert bed.metric("haes_node_probe_failures_total", cluster="dc1", node="es1", reason="connect") >= 3
    assert bed.metric("haes_node_probe_failures_total", cluster="dc1", node="es1", reason="tls") == 0
    ev = [e for e in bed.events() if e["kind"] == "failover"][0]
    assert "unreachable" in ev["message"]


@pytest.mark.parametrize("blip", ["failed_answers", "slow_answers"])
def test_a_blip_does_not_fail_over(procs, tmp_path, blip):
    bed = Bed.start(procs, tmp_path)
    bed.hap.wait_servers("es_dc1", "UP")
    start_round = bed.status()["health_round"]
    for n in bed.dc1.node_names:
        if blip == "failed_answers":
            bed.dc1.fail_node(n, status=503)
        else:
            bed.dc1.slow_node(n, ms=1500)  # beyond failover.timeout: probes time out
    # The blip lasts until the agent has seen one bad round, then ends.
    bed.wait_status(lambda s: s["clusters"][0]["bad_rounds"] >= 1, what="a bad round of dc1")
    for n in bed.dc1.node_names:
        bed.dc1.clear_node(n)
    bed.wait_status(lambda s: s["health_round"] >= start_round + 5, what="five more rounds")
    s = bed.status()
    assert (s["epoch"], s["active"]) == (1, "dc1")
    assert "failover" not in [e["kind"] for e in bed.events()]
    bed.hap.wait_servers("es_dc1", "UP")
    assert bed.served_by(5) == {"dc1"}


def test_one_node_down_keeps_the_cluster_and_its_other_nodes(procs, tmp_path):
    # Three nodes: losing one keeps a master-electing majority (with two, the
    # survivor has no master and the cluster rightly becomes unreachable).
    bed = Bed.start(procs, tmp_path, nodes=3)
    bed.hap.wait_servers("es_dc1", "UP")
    bed.dc1.stop_node(bed.dc1.node_names[0])
    s = bed.wait_status(lambda s: s["clusters"][0]["nodes"][0]["health"] == "unreachable", what="es1 unreachable")
    first = s["health_round"]
    bed.wait_status(lambda s: s["health_round"] >= first + 4, what="four more rounds")
    s = bed.status()
    assert (s["epoch"], s["active"], s["clusters"][0]["health"]) == (1, "dc1", "green")
    # HAProxy takes the dead node out (its check on /lb/dc1/es1 says 503) and keeps the other.
    wait_for(lambda: bed.hap.server_states()[("es_dc1", "es1")] == "DOWN", 10, what="es1 DOWN")
    assert bed.hap.server_states()[("es_dc1", "es2")] == "UP"
    assert bed.served_by(5) == {"dc1"}


def test_both_clusters_red_no_transition_and_fail_closed(procs, tmp_path):
    bed = Bed.start(procs, tmp_path)
    bed.hap.wait_servers("es_dc1", "UP")
    bed.dc1.force_red()
    bed.dc2.force_red()
    s = bed.wait_status(lambda s: s["clusters"][0]["bad_rounds"] >= 5, what="five bad rounds of dc1")
    assert (s["epoch"], s["active"]) == (1, "dc1")
    assert s["may_take_traffic"] == ""
    assert s["robot"]["blocker"] == "no_healthy_target"
    assert "failover --to" in s["next_step"]
    wait_for(lambda: bed.served_by(3) == {"503:no-active-cluster"}, 10, what="503 no-active-cluster")
    # dc1 recovers: traffic comes back to it without any transition.
    bed.dc1.heal()
    bed.wait_traffic_on("dc1")
    assert bed.status()["epoch"] == 1
    assert "failover" not in [e["kind"] for e in bed.events()]


def test_pause_blocks_the_robot_not_the_operator(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    r = bed.agent.haesctl("pause", "--reason", "ES upgrade", "--for", "10m")
    assert r.returncode == 0, r.stdout + r.stderr
    bed.dc1.force_red()
    s = bed.wait_status(lambda s: s["clusters"][0]["bad_rounds"] >= 5, what="five bad rounds")
    assert (s["epoch"], s["active"], s["paused"]) == (1, "dc1", True)
    assert s["robot"]["blocker"] == "paused"
    assert s["pause"]["reason"] == "ES upgrade"
    text = bed.agent.haesctl("status").stdout
    assert "paused: yes, by operator" in text and "(ES upgrade)" in text
    # The operator is not blocked by the pause.
    dry = bed.agent.haesctl("switchover", "--to", "dc2", "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert bed.status()["epoch"] == 1
    r = bed.agent.haesctl("resume")
    assert r.returncode == 0
    s = bed.wait_status(lambda s: s["active"] == "dc2", what="failover after resume")
    assert s["epoch"] == 2
    kinds = [e["kind"] for e in bed.events()]
    assert kinds.index("pause") < kinds.index("resume") < kinds.index("failover")


def test_no_automatic_failback_and_operator_failback(procs, tmp_path):
    bed = Bed.start(procs, tmp_path)
    bed.hap.wait_servers("es_dc1", "UP")
    bed.dc1.force_red()
    bed.wait_traffic_on("dc2")
    # While dc1 is red, failback is refused with the reason.
    r = bed.agent.haesctl("failback")
    assert r.returncode == 1 and "dc1 is red" in r.stdout
    bed.dc1.heal()
    s = bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green")
    first = s["health_round"]
    bed.wait_status(lambda s: s["health_round"] >= first + 4, what="four rounds with dc1 green")
    s = bed.status()
    assert (s["active"], s["fenced"]) == ("dc2", ["dc1"])  # never an automatic failback
    assert "haesctl failback" in s["next_step"]
    assert bed.served_by(5) == {"dc2"}
    r = bed.agent.haesctl("failback", "--reason", "dc1 repaired")
    assert r.returncode == 0, r.stdout
    bed.wait_traffic_on("dc1")
    s = bed.status()
    assert (s["epoch"], s["active"], s["fenced"]) == (3, "dc1", [])
    ev = bed.last_event()
    assert ev["kind"] == "failback" and "dc1 repaired" in ev["message"] and ev["actor"].startswith("operator ")


def test_forced_failover_to_an_unhealthy_cluster(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    bed.dc2.force_red()
    bed.wait_status(lambda s: s["clusters"][1]["health"] == "red", what="dc2 red")
    r = bed.agent.haesctl("switchover", "--to", "dc2")
    assert r.returncode == 1 and "dc2 is red" in r.stdout
    r = bed.agent.haesctl("failover", "--to", "dc2")
    assert r.returncode == 1
    r = bed.agent.haesctl("failover", "--to", "dc2", "--force", "--reason", "dc1 is on fire")
    assert r.returncode == 0, r.stdout
    s = bed.status()
    assert (s["epoch"], s["active"]) == (2, "dc2")
    ev = bed.last_event()
    assert ev["kind"] == "forced_failover" and "force" in ev["message"]


def test_kill9_restart_keeps_epoch_roles_and_fencing(procs, tmp_path):
    bed = Bed.start(procs, tmp_path)
    bed.hap.wait_servers("es_dc1", "UP")
    bed.dc1.force_red()
    bed.wait_traffic_on("dc2")
    bed.dc1.heal()  # healthy again, but fenced: a restart must not bring it back
    bed.agent.proc.kill9()
    assert bed.agent.admin_socket.exists()  # left behind by kill -9: the restart must replace it
    bed.agent.start(procs)
    s = bed.status()
    assert (s["epoch"], s["active"], s["fenced"]) == (2, "dc2", ["dc1"])
    assert "resuming epoch 2, active dc2" in bed.agent.proc.log()
    bed.wait_traffic_on("dc2")
    first = bed.status()["health_round"]
    bed.wait_status(lambda s: s["health_round"] >= first + 3, what="three rounds after restart")
    assert bed.served_by(5) == {"dc2"}
    assert bed.status()["epoch"] == 2


def test_corrupt_or_truncated_state_refuses_to_start(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    bed.agent.stop()
    state = bed.agent.state_path
    good = state.read_bytes()
    for bad in (good[: len(good) // 2], good[:-1] + bytes([good[-1] ^ 0xFF]), b"garbage"):
        state.write_bytes(bad)
        p = procs.start("haes-agent-corrupt", [str(bed.agent.proc.popen.args[0]), "--config",
                                                 str(bed.agent.config_path)])
        assert p.popen.wait(timeout=10) == 1
        log = p.log()
        assert str(state) in log and ("corrupt" in log or "truncated" in log), log
        assert state.read_bytes() == bad  # never rewritten, never guessed around


def test_state_naming_an_unknown_cluster_refuses_to_start(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    bed.agent.haesctl("failover", "--to", "dc2")
    bed.wait_status(lambda s: s["active"] == "dc2")
    bed.agent.stop()
    cfg = bed.agent.config_path.read_text().replace('"dc2"', '"dc3"')
    bed.agent.config_path.write_text(cfg)
    p = procs.start("haes-agent-dc3", [str(bed.agent.proc.popen.args[0]), "--config", str(bed.agent.config_path)])
    assert p.popen.wait(timeout=10) == 1
    assert 'cluster "dc2" is active' in p.log() and "no such cluster" in p.log()


def test_on_role_change_hook_runs_with_the_roles(procs, tmp_path):
    out = tmp_path / "hook.out"
    cmd = f'env | grep ^HAES_ | sort > {out}'
    bed = Bed.start(procs, tmp_path, haproxy=False,
                    agent_extra={"failover": {"on_role_change": {"command": cmd, "timeout": "5s"}}})
    bed.dc1.force_red()
    bed.wait_status(lambda s: s["active"] == "dc2")
    wait_for(lambda: out.exists() and "HAES_EPOCH" in out.read_text(), 10, what="hook output")
    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert env["HAES_EVENT"] == "failover"
    assert (env["HAES_OLD_ACTIVE"], env["HAES_NEW_ACTIVE"], env["HAES_EPOCH"]) == ("dc1", "dc2", "2")
    assert env["HAES_CHANGED_BY"] == "controller"
    wait_for(lambda: bed.metric("haes_hook_runs_total", result="ok") == 1, 10, what="hook counted")
