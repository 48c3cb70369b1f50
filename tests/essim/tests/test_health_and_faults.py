"""Health computed from shard allocation over live nodes, and every fault
mode of the control port, observed from a plain HTTP client."""

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from haestest.essim import EssimCluster, EssimError, http


def raw_get(port: int, path: str = "/", timeout: float = 2.0) -> bytes:
    """A raw HTTP/1.0 GET; returns every byte received until the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def test_replicas_without_room_are_yellow(procs, tmp_path):
    one = EssimCluster.start(procs, "solo", nodes=1, repo_root=tmp_path / "r")
    one.create_index("logs", shards=1, replicas=1)
    h = one.health()
    assert h["status"] == "yellow" and h["unassigned_shards"] == 1 and h["unassigned_primary_shards"] == 0


def test_losing_a_node_promotes_replicas_or_loses_primaries(dc1):
    dc1.create_index("replicated", shards=3, replicas=1)
    dc1.create_index("single", shards=3, replicas=0)
    assert dc1.health()["status"] == "green"
    dc1.stop_node("dc1-n2")
    h = dc1.health(level="indices")
    # replicated: a replica was promoted, the lost copy leaves it yellow at worst
    assert h["indices"]["replicated"]["status"] in ("green", "yellow")
    assert h["indices"]["replicated"]["active_primary_shards"] == 3
    # single: the primary that lived on n2 has no copy: red
    assert h["indices"]["single"]["status"] == "red"
    assert h["status"] == "red" and h["unassigned_primary_shards"] >= 1
    dc1.start_node("dc1-n2")
    assert dc1.health(wait_for_status="green", timeout="5s")["status"] == "green"


def test_force_red_while_every_node_answers_then_heal(dc1):
    dc1.create_index("logs")
    dc1.bulk_index("logs", {1: {"a": 1}})
    out = dc1.force_red()
    assert out["index"] == "logs"
    for node in dc1.node_names:
        status, body = dc1.es("GET", "/_cluster/health", node=node)
        assert status == 200 and body["status"] == "red"
    status, err = dc1.es("GET", "/logs/_count")
    assert status == 503 and err["error"]["type"] == "search_phase_execution_exception"
    status, err = dc1.es("PUT", "/logs/_doc/2", {"a": 2})
    assert status == 503 and err["error"]["type"] == "unavailable_shards_exception"
    dc1.heal()
    assert dc1.health()["status"] == "green"
    assert dc1.count("logs") == 1


def test_force_red_on_an_empty_cluster_uses_a_hidden_index(dc1):
    out = dc1.force_red()
    assert out["index"] == ".essim-red"
    assert dc1.health()["status"] == "red"
    assert dc1.ok("GET", "/_cat/indices?format=json") == []  # hidden from _cat by default


def test_without_a_master_nodes_answer_503_after_the_master_timeout(dc1):
    dc1.set_master_wait(0.3)
    dc1.stop_node("dc1-n1")
    dc1.stop_node("dc1-n2")
    status, err = dc1.es("GET", "/_cluster/health", node="dc1-n3")
    assert status == 503
    assert err["error"]["type"] == "master_not_discovered_exception" and err["error"]["reason"] is None
    dc1.start_node("dc1-n2")
    assert dc1.es("GET", "/_cluster/health", node="dc1-n3")[0] == 200


def test_stop_refuses_connections_and_start_restores_the_same_port(dc1):
    port = dc1.port("dc1-n2")
    dc1.stop_node("dc1-n2")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    dc1.start_node("dc1-n2")
    assert http("GET", f"http://127.0.0.1:{port}/")[0] == 200


def test_stop_cuts_open_keep_alive_connections(dc1):
    port = dc1.port("dc1-n1")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    dc1.stop_node("dc1-n1")
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(65536) == b""
    s.close()


def assert_hangs(cluster, node):
    """The node accepts a request and sends nothing back."""
    with socket.create_connection(("127.0.0.1", cluster.port(node)), timeout=0.5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        with pytest.raises(socket.timeout):
            s.recv(100)


def test_hang_accepts_and_never_answers(dc1):
    dc1.hang_node("dc1-n1")
    assert_hangs(dc1, "dc1-n1")
    dc1.clear_node("dc1-n1")
    assert dc1.es("GET", "/", node="dc1-n1")[0] == 200
    # A second hang after a clear hangs again (the clear must not release it).
    dc1.hang_node("dc1-n1")
    assert_hangs(dc1, "dc1-n1")
    dc1.clear_node("dc1-n1")


def test_slow_adds_latency(dc1):
    dc1.slow_node("dc1-n1", 300)
    t0 = time.monotonic()
    assert dc1.es("GET", "/", node="dc1-n1")[0] == 200
    assert time.monotonic() - t0 >= 0.3
    dc1.clear_node("dc1-n1")


@pytest.mark.parametrize("status,etype", [(500, "exception"), (503, "cluster_block_exception")])
def test_fail_answers_an_es_error_body(dc1, status, etype):
    dc1.fail_node("dc1-n1", status)
    got, err = dc1.es("GET", "/_cluster/health", node="dc1-n1")
    assert got == status
    assert err["error"]["type"] == etype and err["status"] == status
    assert dc1.es("GET", "/_cluster/health", node="dc1-n2")[0] == 200  # other nodes fine


def test_fail_limited_to_a_path_and_a_count_then_clears(dc1):
    dc1.fail_node("dc1-n1", 503, type="master_not_discovered_exception", reason="no master",
                  path="/_snapshot", count=2)
    assert dc1.es("GET", "/_cluster/health", node="dc1-n1")[0] == 200  # another path: untouched
    for _ in range(2):
        got, err = dc1.es("GET", "/_snapshot/_all", node="dc1-n1")
        assert got == 503 and err["error"]["type"] == "master_not_discovered_exception"
    assert dc1.es("GET", "/_snapshot/_all", node="dc1-n1")[0] == 200
    assert dc1.state()["nodes"]["dc1-n1"]["fault"] is None
    with pytest.raises(EssimError) as e:
        dc1.fail_node("dc1-n1", count=0)
    assert e.value.status == 400 and "count [0]" in json.dumps(e.value.body)


def test_break_non_json(dc1):
    dc1.break_node("dc1-n1", "non_json")
    req = urllib.request.Request(dc1.url("dc1-n1") + "/_cluster/health")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.headers["content-type"] == "application/json"
        assert r.read().startswith(b"<html>")


def test_break_truncated_body(dc1):
    dc1.break_node("dc1-n1", "truncated")
    data = raw_get(dc1.port("dc1-n1"), "/_cluster/health")
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    assert 0 < len(body) < length


def test_break_drop_closes_without_an_answer(dc1):
    dc1.break_node("dc1-n1", "drop")
    assert raw_get(dc1.port("dc1-n1")) == b""


def test_counters_count_requests_per_node_and_endpoint(dc1):
    for _ in range(3):
        dc1.es("GET", "/_cluster/health", node="dc1-n2")
    dc1.es("GET", "/", node="dc1-n1")
    c = dc1.counters()
    assert c["nodes"]["dc1-n2"]["GET cluster.health"] == 3
    assert c["total"]["GET root"] == 1
    dc1.control("/counters/reset", {})
    assert dc1.counters()["total"] == {}


def test_control_errors_are_clear(dc1):
    status, out = http("POST", f"http://127.0.0.1:{dc1.control_port}/nodes/nope/stop", {})
    assert status == 404 and "dc1-n1" in out["error"]["reason"]
    status, out = http("POST", f"http://127.0.0.1:{dc1.control_port}/nodes/dc1-n1/break", {"mode": "weird"})
    assert status == 400 and "non_json" in out["error"]["reason"]
