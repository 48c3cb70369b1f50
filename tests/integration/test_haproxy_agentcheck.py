"""HAProxy's checks against the agent, live: the shipped agent-check variant
(haproxy-conf/haproxy-agentcheck.cfg) and the health port's /lb and
/lb/<cluster> answers used as httpchk URIs. Real HAProxy 2.6, the real agent,
essim clusters; states are read from HAProxy's stats socket."""

import pytest

from haestest.bed import Bed
from haestest.haproxy import HAProxy, conf_dir, derive_config
from haestest.proc import wait_for


def start_haproxy(procs, tmp_path, bed, cfg, **extra_env):
    bed.hap = HAProxy.start(procs, tmp_path / "haproxy", spoe_port=bed.agent.spoe_port,
                            health_port=bed.agent.health_port,
                            nodes={c.name: [c.port(n) for n in c.node_names[:2]] for c in (bed.dc1, bed.dc2)},
                            extra_env={"HAES_AGENT_CHECK_PORT": str(bed.agent.agent_check_port),
                                       "HAES_AGENT_INTER": "200ms", **extra_env},
                            cfg=cfg)
    return bed.hap


def row(hap, backend, server):
    return hap.server_stats()[(backend, server)]


def agent_checks(bed) -> float:
    return sum(bed.metric("haes_agentcheck_total", result=r) or 0 for r in ("up", "down", "maint"))


def wait_agent_checks(bed, n):
    """Waits until the agent has answered n more agent checks."""
    start = agent_checks(bed)
    wait_for(lambda: agent_checks(bed) >= start + n, 10, what=f"{n} more agent checks")


@pytest.fixture
def bed(procs, tmp_path):
    # ready_grace 0s: "ready" goes with the first answer to each server line
    # and with the first answer after a fence is lifted, never otherwise, so
    # what the tests see does not depend on timing.
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra={"agent_check": {"ready_grace": "0s"}})
    start_haproxy(procs, tmp_path, bed, conf_dir() / "haproxy-agentcheck.cfg")
    bed.hap.wait_servers("es_dc1", "UP")
    bed.hap.wait_servers("es_dc2", "DOWN")
    return bed


def test_agent_check_routes_to_the_active_cluster_and_a_failover_moves_it(bed):
    hap = bed.hap
    assert bed.served_by(6) == {"dc1"}
    for s in ("es1", "es2"):
        r = row(hap, "es_dc1", s)
        assert r["status"] == "UP" and r["last_agt"] == "via agent : up", r
        r = row(hap, "es_dc2", s)
        # The passive side: DOWN by the agent, while its own TCP check passes.
        assert r["status"] == "DOWN (agent)" and r["check_status"].lstrip("* ") == "L4OK", r
        assert f"dc2/{s} may not take traffic: passive: dc1 is active (epoch 1)" in r["last_agt"], r
    assert bed.metric("haes_agentcheck_total", result="down") > 0

    bed.dc1.force_red()
    bed.wait_traffic_on("dc2", timeout=20)
    # The fenced cluster goes to MAINT; the new active one comes UP.
    hap.wait_servers("es_dc1", "MAINT")
    hap.wait_servers("es_dc2", "UP")
    assert bed.metric("haes_agentcheck_total", result="maint") > 0
    assert bed.served_by(6) == {"dc2"}

    # MAINT keeps the agent check running: the operator's failback through
    # the agent brings dc1's servers back, nothing to do on HAProxy's side
    # (the agent owes "ready" to what it put in MAINT, and pays it once).
    bed.dc1.heal()
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green")
    r = bed.agent.haesctl("failback", "--reason", "test")
    assert r.returncode == 0, r.stdout
    hap.wait_servers("es_dc1", "UP")
    hap.wait_servers("es_dc2", "DOWN")
    bed.wait_traffic_on("dc1")
    assert "passive: dc1 is active (epoch 3)" in row(hap, "es_dc2", "es1")["last_agt"]


def test_a_node_the_agent_does_not_know_stays_down(procs, tmp_path):
    """A server whose agent-send names no node of the agent's config: DOWN, with the reason."""
    bed = Bed.start(procs, tmp_path, haproxy=False)
    cfg = derive_config(conf_dir() / "haproxy-agentcheck.cfg", tmp_path / "typo.cfg",
                        ('agent-send "dc1/es2\\n"', 'agent-send "dc1/es9\\n"'))
    hap = start_haproxy(procs, tmp_path, bed, cfg)
    wait_for(lambda: row(hap, "es_dc1", "es1")["status"] == "UP", 15, what="es_dc1/es1 UP")
    wait_for(lambda: "unknown node" in row(hap, "es_dc1", "es2")["last_agt"], 15, what="es9 refused")
    assert row(hap, "es_dc1", "es2")["status"].startswith("DOWN")
    assert bed.served_by(4) == {"dc1"}  # served by es1 alone


def nodes_serving(hap, n=6) -> set:
    """The essim node names that answered n requests through HAProxy."""
    out = set()
    for _ in range(n):
        r = hap.get("/")
        out.add(r.json()["name"] if r.status == 200 else r.status)
    return out


def test_weights_stay_and_an_operator_drain_or_maint_holds_with_the_agent_on(bed):
    """The agent says "ready" only to lift a MAINT it set itself (or on first
    contact), so an operator's weight, DRAIN and MAINT all hold while the agent
    check runs; the operator's own "state ready" brings the server back."""
    hap = bed.hap
    assert nodes_serving(hap) == {"dc1-n1", "dc1-n2"}
    # The agent answers no weight: an operator's weight stays.
    hap.stats_command("set server es_dc1/es1 weight 0")
    wait_agent_checks(bed, 4)
    assert hap.stats_command("get weight es_dc1/es1").startswith("0 (initial 1)")
    assert nodes_serving(hap) == {"dc1-n2"}
    hap.stats_command("set server es_dc1/es1 weight 1")
    # An operator's DRAIN holds over several agent checks (4 servers, so 12
    # answers are 3 for es2) ...
    hap.stats_command("set server es_dc1/es2 state drain")
    wait_agent_checks(bed, 12)
    # ("DRAIN (agent)": HAProxy's way of showing a drained server whose agent check runs.)
    assert row(hap, "es_dc1", "es2")["status"].startswith("DRAIN")
    assert row(hap, "es_dc1", "es2")["last_agt"] == "via agent : up"
    assert nodes_serving(hap) == {"dc1-n1"}
    # ... and so does MAINT ...
    hap.stats_command("set server es_dc1/es2 state maint")
    wait_agent_checks(bed, 12)
    assert row(hap, "es_dc1", "es2")["status"].startswith("MAINT")
    assert nodes_serving(hap) == {"dc1-n1"}
    # ... until the operator says ready.
    hap.stats_command("set server es_dc1/es2 state ready")
    hap.wait_servers("es_dc1", "UP", timeout=5)
    assert nodes_serving(hap) == {"dc1-n1", "dc1-n2"}


def test_lb_and_lb_cluster_as_httpchk_uris(procs, tmp_path):
    """The health port's other two answers, used by HAProxy's httpchk:
    es_dc1 checks /lb (the agent's health.node is dc1/es1: an agent beside
    that node; here both servers ask the same agent), es_dc2 checks
    /lb/dc2 (the cluster as a whole, for server names that are not node
    names). Both follow a failover."""
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra={"health": {"node": "dc1/es1"}})
    status, body = bed.agent.health("/lb")
    assert status == 200 and body.startswith("OK dc1/es1 may take traffic"), (status, body)
    cfg = derive_config(conf_dir() / "haproxy.cfg", tmp_path / "lb.cfg",
                        ("http-check send meth GET uri-lf /lb/dc1/%[srv_name] ver HTTP/1.0",
                         "http-check send meth GET uri /lb ver HTTP/1.0"),
                        ("http-check send meth GET uri-lf /lb/dc2/%[srv_name] ver HTTP/1.0",
                         "http-check send meth GET uri /lb/dc2 ver HTTP/1.0"))
    hap = start_haproxy(procs, tmp_path, bed, cfg)
    hap.wait_servers("es_dc1", "UP")
    hap.wait_servers("es_dc2", "DOWN")
    assert row(hap, "es_dc2", "es1")["check_status"].lstrip("* ") == "L7STS"  # the agent's 503
    assert bed.served_by(6) == {"dc1"}
    status, body = bed.agent.health("/lb/dc2")
    assert status == 503 and "passive" in body, (status, body)

    bed.dc1.force_red()
    bed.wait_traffic_on("dc2", timeout=20)
    hap.wait_servers("es_dc1", "DOWN")
    hap.wait_servers("es_dc2", "UP")
    status, body = bed.agent.health("/lb")
    assert status == 503 and "fenced" in body, (status, body)
    status, body = bed.agent.health("/lb/dc2")
    assert status == 200, (status, body)
