"""Per-port connection limits in the real agent: each of the four ports
(health, agent-check, admin socket, SPOP) takes its limit from the config,
closes the connection over it at once, and counts it in
haes_connections_refused_total{port} (the SPOP port also in
haes_spoe_connections_refused_total)."""

import re
import socket

import pytest

from haestest.agent import AgentRun
from haestest.proc import free_port, wait_for


def metrics(agent) -> str:
    """/metrics; health.max_connections is 1 here, so a scrape right after
    another may be refused while the agent is closing the previous one."""
    got = []

    def scrape():
        try:
            status, body = agent.health("/metrics")
        except (ConnectionError, OSError):
            return False
        got.append(body)
        return status == 200
    wait_for(scrape, 10, what="a /metrics scrape")
    return got[-1]


def metric(body: str, name: str, **labels) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search("^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$", body, re.M)
    assert m, f"{name} {labels} not in /metrics"
    return float(m.group(1))


def closed_at_once(s: socket.socket) -> bool:
    """True if the agent closes the connection without a byte."""
    s.settimeout(5)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def agent(procs, tmp_path):
    # Clusters nobody listens on: the edge ports do not need them.
    a = AgentRun(tmp_path / "agent", {"dc1": {"es1": free_port()}, "dc2": {"es1": free_port()}},
                 extra={"spoe": {"max_connections": 1}, "health": {"max_connections": 1},
                        "agent_check": {"max_connections": 1},
                        "admin": {"max_connections": 1}})
    a.start(procs)
    return a


def tcp(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def unix(path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))
    return s


@pytest.mark.parametrize("port", ["health", "agent_check", "admin", "spoe"])
def test_a_connection_over_the_ports_limit_is_closed_and_counted(agent, port):
    before = metric(metrics(agent), "haes_connections_refused_total", port=port)
    connect = {"health": lambda: tcp(agent.health_port), "agent_check": lambda: tcp(agent.agent_check_port),
               "admin": lambda: unix(agent.admin_socket), "spoe": lambda: tcp(agent.spoe_port)}[port]
    held = connect()
    if port == "agent_check":
        held.sendall(b"dc1/")  # half an agent-send string: the session waits for the rest
    over = connect()
    assert closed_at_once(over)
    held.close()
    over.close()
    # >=: on the health port a scrape itself may be refused while the previous one closes.
    wait_for(lambda: metric(metrics(agent), "haes_connections_refused_total", port=port) >= before + 1, 10,
             what=f"refused {port} connection counted")
    if port == "spoe":
        assert metric(metrics(agent), "haes_spoe_connections_refused_total") == 1
    # The port serves again once the held connection is gone.
    if port == "admin":
        assert agent.haesctl("status").returncode == 0
    if port == "agent_check":
        s = connect()
        s.sendall(b"dc9/es1\n")
        assert s.recv(200).startswith(b"down #unknown cluster dc9")
