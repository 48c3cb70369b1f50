"""Self-tests of haestest.faultproxy: a real TCP echo server and a real essim
behind the proxy; each fault is seen from the client's side."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import urllib.error
import urllib.request

import pytest

from haestest.essim import EssimCluster
from haestest.faultproxy import FaultProxy
from haestest.proc import wait_for

SHORT = 0.4  # a client timeout that tells "stalled" from "answered"


class Echo:
    """A threaded TCP echo server on 127.0.0.1 that counts its connections."""

    def __init__(self):
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                owner.connections += 1
                while True:
                    try:
                        data = self.request.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    owner.received += len(data)
                    self.request.sendall(data)

        self.connections = 0
        self.received = 0
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo():
    server = Echo()
    yield server
    server.close()


def connect(proxy: FaultProxy, timeout: float = SHORT) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def roundtrip(sock: socket.socket, payload: bytes = b"ping") -> bytes:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def test_pass_through_counts_connections_and_bytes(procs, echo):
    proxy = FaultProxy.start(procs, echo.port)
    with connect(proxy) as s:
        assert roundtrip(s, b"hello") == b"hello"
        assert roundtrip(s, b"x" * 100_000) == b"x" * 100_000
    wait_for(lambda: proxy.stats()["active"] == 0, 5, what="the connection closed through the proxy")
    st = proxy.stats()
    assert (st["accepted"], st["forwarded"], st["reset"]) == (1, 1, 0)
    assert st["bytes_up"] == st["bytes_down"] == 100_005
    assert echo.connections == 1


def test_cut_refuse_resets_open_connections_and_refuses_new_ones_until_heal(procs, echo):
    proxy = FaultProxy.start(procs, echo.port)
    s = connect(proxy)
    assert roundtrip(s) == b"ping"
    proxy.cut("refuse")
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        roundtrip(s)
        roundtrip(s)
    s.close()
    proxy.heal()
    with connect(proxy) as s2:
        assert roundtrip(s2) == b"ping"


def test_cut_reset_accepts_then_resets(procs, echo):
    proxy = FaultProxy.start(procs, echo.port)
    proxy.cut("reset")
    for _ in range(3):
        # The reset may come before connect() returns, or at the first read.
        with pytest.raises(ConnectionResetError):
            with connect(proxy) as s:
                roundtrip(s)
    assert echo.connections == 0
    proxy.heal()
    with connect(proxy) as s:
        assert roundtrip(s) == b"ping"


def test_blackhole_stalls_then_heal_resumes_like_a_healed_partition(procs, echo):
    proxy = FaultProxy.start(procs, echo.port)
    open_conn = connect(proxy)
    assert roundtrip(open_conn, b"a") == b"a"
    proxy.cut("blackhole")
    held = connect(proxy)  # accepted: a blackhole does not refuse
    held.sendall(b"held")
    with pytest.raises(socket.timeout):
        held.recv(10)
    open_conn.sendall(b"stalled")
    with pytest.raises(socket.timeout):
        open_conn.recv(10)
    gone = connect(proxy)
    gone.sendall(b"never")
    gone.close()  # a client that gave up: its bytes must never reach the target
    wait_for(lambda: proxy.stats()["held"] == 2 and proxy.stats()["active"] == 2, 5,
             what="the given-up client dropped by the proxy")
    assert echo.connections == 1
    proxy.heal()
    open_conn.settimeout(5)
    held.settimeout(5)
    assert open_conn.recv(10) == b"stalled"
    assert held.recv(10) == b"held"
    assert echo.connections == 2 and echo.received == len(b"a" + b"stalled" + b"held")
    open_conn.close()
    held.close()


def test_delay_per_direction(procs, echo):
    proxy = FaultProxy.start(procs, echo.port)
    with connect(proxy, 5) as s:
        proxy.delay(150, "up")
        t0 = time.monotonic()
        assert roundtrip(s) == b"ping"
        up_only = time.monotonic() - t0
        proxy.delay(150)
        t0 = time.monotonic()
        assert roundtrip(s) == b"ping"
        both = time.monotonic() - t0
        proxy.delay(0)
        t0 = time.monotonic()
        assert roundtrip(s) == b"ping"
        none = time.monotonic() - t0
    assert 0.15 <= up_only, up_only
    assert 0.30 <= both, both
    assert none < 0.15, none
    assert proxy.stats()["delay_ms"] == {"up": 0, "down": 0}


def test_slow_limits_the_rate(procs, echo):
    proxy = FaultProxy.start(procs, echo.port)
    proxy.slow(50_000)
    with connect(proxy, 10) as s:
        t0 = time.monotonic()
        assert roundtrip(s, b"y" * 25_000) == b"y" * 25_000
        took = time.monotonic() - t0
    # 25 kB at 50 kB/s: at least 0.5 s up; down overlaps it.
    assert took >= 0.45, took


def test_loss_resets_or_stalls_new_connections(procs, echo):
    proxy = FaultProxy.start(procs, echo.port, seed=7)
    proxy.loss(1.0)
    with pytest.raises(ConnectionResetError):
        with connect(proxy) as s:
            roundtrip(s)
    proxy.loss(1.0, mode="stall")
    with connect(proxy) as s:
        with pytest.raises(socket.timeout):
            roundtrip(s)
    proxy.loss(0.5)
    outcomes = []
    for _ in range(20):
        try:
            with connect(proxy) as s:
                outcomes.append(roundtrip(s) == b"ping")
        except ConnectionResetError:
            outcomes.append(False)
    assert 3 <= outcomes.count(True) <= 17, outcomes
    with pytest.raises(ValueError, match="not in"):
        proxy.loss(1.5)


def test_an_essim_node_behind_the_proxy_times_out_or_refuses_then_heals(procs, tmp_path):
    dc1 = EssimCluster.start(procs, "dc1", nodes=1, workdir=tmp_path / "dc1")
    proxy = FaultProxy.start(procs, dc1.port(dc1.node_names[0]))

    def get(timeout: float = SHORT) -> int:
        with urllib.request.urlopen(proxy.url() + "/_cluster/health", timeout=timeout) as r:
            return r.status

    assert get() == 200
    proxy.cut("blackhole")
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)) as err:
        get()
    assert "timed out" in str(err.value)
    proxy.cut("refuse")
    with pytest.raises(urllib.error.URLError) as err:
        get()
    assert isinstance(err.value.reason, ConnectionRefusedError)
    proxy.heal()
    assert get() == 200
