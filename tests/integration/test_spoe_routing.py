"""Issue 2, end to end: real HAProxy 2.6 (the shipped haproxy-conf/ files)
asks the agent over SPOP on every request and routes by its answer.

Two small HTTP servers per cluster stand in for the Elasticsearch nodes; each
answers with its cluster's name, so the test sees where every request went.
"""

import json

from haestest.agent import AgentRun, start_echo_nodes
from haestest.haproxy import HAProxy
from haestest.proc import wait_for

NODES = {"dc1": ["es1", "es2"], "dc2": ["es1", "es2"]}


def served_by(hap, n=20):
    """Sends n requests through HAProxy; returns the clusters that answered."""
    seen = []
    for _ in range(n):
        r = hap.get("/")
        assert r.status == 200, (r.status, r.body)
        body = json.loads(r.body)
        assert r.header("X-Haes-Cluster") == body["cluster_name"]
        seen.append(body["cluster_name"])
    return set(seen)


def start_all(procs, tmp_path, preferred="dc1"):
    ports = start_echo_nodes(procs, NODES)
    agent = AgentRun(tmp_path / "agent", ports, preferred=preferred)
    agent.start(procs)
    hap = HAProxy.start(procs, tmp_path / "haproxy", spoe_port=agent.spoe_port,
                        health_port=agent.health_port,
                        nodes={c: list(n.values()) for c, n in ports.items()})
    return ports, agent, hap


def test_requests_reach_the_cluster_the_agent_names(procs, tmp_path):
    _, agent, hap = start_all(procs, tmp_path)
    hap.wait_servers("es_dc1", "UP")
    hap.wait_servers("es_dc2", "DOWN")
    assert served_by(hap) == {"dc1"}
    r = hap.get("/")
    assert r.header("X-Haes-Epoch") == "1"


def test_changing_the_active_cluster_moves_traffic(procs, tmp_path):
    ports, agent, hap = start_all(procs, tmp_path)
    hap.wait_servers("es_dc1", "UP")
    assert served_by(hap) == {"dc1"}
    # A restart on a fresh state directory with dc2 preferred (a first start).
    agent.stop()
    agent2 = AgentRun(tmp_path / "agent2", ports, preferred="dc2",
                      spoe_port=agent.spoe_port, health_port=agent.health_port,
                      agent_check_port=agent.agent_check_port)
    agent2.start(procs)
    hap.wait_servers("es_dc2", "UP")
    wait_for(lambda: served_by(hap, 5) == {"dc2"}, 15, what="traffic on dc2")
    hap.wait_servers("es_dc1", "DOWN")
    assert served_by(hap) == {"dc2"}


def test_agent_stopped_fails_closed_and_recovers_without_haproxy_restart(procs, tmp_path):
    _, agent, hap = start_all(procs, tmp_path)
    hap.wait_servers("es_dc1", "UP")
    assert served_by(hap, 5) == {"dc1"}
    haproxy_pid = hap.proc.pid

    agent.stop()
    r = hap.get("/")
    assert r.status == 503
    assert r.header("X-Haes-Reason") == "agent-unreachable"
    assert json.loads(r.body)["error"]["type"] == "haes_unavailable_exception"
    # Every request while the agent is away is refused, none reaches a cluster.
    for _ in range(10):
        assert hap.get("/").status == 503

    agent.start(procs)
    wait_for(lambda: hap.get("/").status == 200, 20, what="traffic back after the agent restarts")
    assert served_by(hap) == {"dc1"}
    assert hap.proc.alive() and hap.proc.pid == haproxy_pid
