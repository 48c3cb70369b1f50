"""haproxy-conf/haes.lua in Debian's HAProxy, live (haproxy-conf/haproxy-lua.cfg):
the "haes ..." commands typed on HAProxy's stats socket with socat and
answered by the real agent through its admin socket, including the agent
stopped ("haes: unreachable") and the read-only mode; and the
last-known-verdict fallback: off by default, used while the agent's SPOE
answers are cut, expiring into fail-closed, and never reaching a cluster
whose servers the health checks took out."""

import socket
import subprocess
import threading
import time

from haestest.bed import Bed
from haestest.haproxy import HAProxy, conf_dir, derive_config
from haestest.proc import free_port, wait_for


def socat(sock, line: str) -> str:
    """One command on HAProxy's stats socket, as an operator types it."""
    r = subprocess.run(["socat", "-t", "30", "-", f"UNIX-CONNECT:{sock}"], input=line + "\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def haes(hap, line: str, sock=None) -> tuple[str, str]:
    """(reply without the status line, status line) of "haes ..."."""
    out = socat(sock or hap.stats_socket, line).rstrip("\n")
    body, _, last = out.rpartition("\n")
    assert last.startswith("haes: "), out
    return body, last


class Relay:
    """A TCP relay in front of the agent's SPOP port: cut() makes the SPOE
    path fail (connections closed, new ones refused) while the agent, its
    health port and its admin socket stay up; mend() opens it again."""

    def __init__(self, target_port: int):
        self.port, self.target = free_port(), target_port
        self.conns, self.lock = [], threading.Lock()
        self.listener = None
        self.mend()

    def mend(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self):
        # shutdown wakes the thread blocked in accept(); close alone would not
        # stop it from accepting the next connection.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns.clear()

    def _accept(self, listener):
        while True:
            try:
                a, _ = listener.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                a.close()
                continue
            with self.lock:
                self.conns += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def start_haproxy(procs, workdir, bed, spoe_port=None, cfg=None, **env) -> HAProxy:
    """HAProxy with haproxy-lua.cfg (or cfg) in front of bed's agent; env: haes.lua's settings."""
    hap = HAProxy.start(procs, workdir, spoe_port=spoe_port or bed.agent.spoe_port,
                        health_port=bed.agent.health_port,
                        nodes={c.name: [c.port(n) for n in c.node_names[:2]] for c in (bed.dc1, bed.dc2)},
                        extra_env={"HAES_LUA": str(conf_dir() / "haes.lua"),
                                   "HAES_ADMIN_SOCKET": str(bed.agent.admin_socket), **env},
                        cfg=cfg or conf_dir() / "haproxy-lua.cfg")
    hap.wait_servers("es_dc1", "UP")
    return hap


def start(procs, tmp_path, cfg=None, **env) -> Bed:
    bed = Bed.start(procs, tmp_path, haproxy=False)
    bed.hap = start_haproxy(procs, tmp_path / "haproxy", bed, cfg=cfg, **env)
    return bed


# ---- the CLI ------------------------------------------------------------------

def test_haes_commands_on_haproxys_stats_socket(procs, tmp_path):
    bed = start(procs, tmp_path)
    hap = bed.hap
    body, last = haes(hap, "haes status")
    assert last == "haes: ok" and "# roles" in body and "active: dc1" in body, body
    body, last = haes(hap, "haes events 1")
    assert last == "haes: ok" and len(body.splitlines()) == 1 and "start by config" in body, body

    body, last = haes(hap, "haes pause planned work on dc1")
    assert (body, last) == ("paused automatic failover until resumed", "haes: ok")
    assert bed.status()["paused"]
    ev = bed.events()[-1]
    assert ev["kind"] == "pause" and "via the HAProxy CLI: planned work on dc1" in ev["message"], ev
    assert haes(hap, "haes resume") == ("automatic failover resumed", "haes: ok")

    # The agent refuses: its error, then "refused".
    body, last = haes(hap, "haes failback")
    assert last == "haes: refused" and body.startswith("error: failback refused: dc1 is already active"), body

    # A planned switchover and back, typed on HAProxy's socket; traffic follows.
    body, last = haes(hap, "haes switchover dc2 moving off dc1")
    assert last == "haes: ok" and "dc2 active (epoch 2)" in body, body
    hap.wait_servers("es_dc2", "UP")
    bed.wait_traffic_on("dc2")
    body, last = haes(hap, "haes failback")
    assert last == "haes: ok" and "dc1 active (epoch 3)" in body, body
    bed.wait_traffic_on("dc1")
    assert [e["kind"] for e in bed.events()][-2:] == ["switchover", "failback"]

    # Bad usage: said by haes.lua (nothing sent) or by the agent.
    for line, why in [("haes pause", "pause needs a reason"), ("haes events x", "events takes one number"),
                      ("haes status now", "status takes no argument"),
                      ("haes switchover dc3", "unknown cluster 'dc3'"), ("haes frob", "unknown haes command 'frob'")]:
        body, last = haes(hap, line)
        assert last == "haes: bad usage" and why in body, (line, body)
    body, last = haes(hap, "haes help")
    assert last == "haes: ok" and "haes switchover <cluster> [reason...]" in body

    # The agent stopped: HAProxy answers for it.
    bed.agent.stop()
    body, last = haes(hap, "haes status")
    assert last == "haes: unreachable" and f"cannot reach haes-agent at {bed.agent.admin_socket}: " in body, body
    assert "no such socket" in body or "connection refused" in body, body


def test_read_only_commands_and_stats_socket_levels(procs, tmp_path):
    user_sock = tmp_path / "user.sock"
    cfg = derive_config(conf_dir() / "haproxy-lua.cfg", tmp_path / "lua-user-socket.cfg",
                        ("    lua-load", f"    stats socket {user_sock} mode 600 level user\n    lua-load"))
    bed = start(procs, tmp_path, cfg=cfg)
    # HAProxy 2.6 does not apply the socket's level to Lua commands (documented):
    # a user-level socket refuses HAProxy's own admin commands but runs "haes pause".
    assert "Permission denied" in socat(user_sock, "disable server es_dc1/es1")
    assert haes(bed.hap, "haes pause level test", sock=user_sock)[1] == "haes: ok"
    assert haes(bed.hap, "haes resume", sock=user_sock)[1] == "haes: ok"

    bed.hap.proc.stop()
    ro = start_haproxy(procs, tmp_path / "haproxy-ro", bed, cfg=cfg, HAES_CLI_COMMANDS="read")
    assert haes(ro, "haes status")[1] == "haes: ok"
    for line in ("haes pause x", "haes failback", "haes switchover dc2", "haes resume"):
        body, last = haes(ro, line)
        assert last == "haes: refused" and "HAES_CLI_COMMANDS=read" in body, (line, body)
    assert not bed.status()["paused"] and bed.status()["epoch"] == 1


# ---- the last-known-verdict fallback ------------------------------------------

def start_with_relay(procs, tmp_path, **env):
    """The agent, and HAProxy reaching its SPOP port through a Relay."""
    bed = Bed.start(procs, tmp_path, haproxy=False)
    relay = Relay(bed.agent.spoe_port)
    bed.hap = start_haproxy(procs, tmp_path / "haproxy", bed, spoe_port=relay.port, **env)
    bed.wait_traffic_on("dc1")
    return bed, relay


def test_fallback_is_off_by_default(procs, tmp_path):
    bed, relay = start_with_relay(procs, tmp_path)
    relay.cut()
    wait_for(lambda: bed.served_by(1) == {"503:agent-unreachable"}, 10, what="fail closed")
    assert bed.served_by(5) == {"503:agent-unreachable"}


def test_fallback_routes_to_the_last_verdict_then_expires(procs, tmp_path):
    bed, relay = start_with_relay(procs, tmp_path, HAES_FALLBACK_FOR="3s")
    r = bed.hap.get("/")
    assert r.status == 200 and r.header("X-Haes-Fallback") is None
    last_answer = time.time()
    relay.cut()
    seen = []
    def until_closed():
        r = bed.hap.get("/")
        seen.append((time.time(), r.status, r.header("X-Haes-Reason"), r.header("X-Haes-Fallback"),
                     r.json()["cluster_name"] if r.status == 200 else None))
        return r.status == 503
    wait_for(until_closed, 15, what="the fallback expiring")
    fallback = [s for s in seen if s[3] is not None]
    assert fallback, seen  # the cut SPOE path did not interrupt traffic ...
    assert {s[4] for s in fallback} == {"dc1"}  # ... which went to the last cluster named
    for s in fallback:
        assert s[3].startswith("last verdict of epoch 1, ") and int(s[3].split(", ")[1].split()[0]) <= 3000, s
    end = seen[-1]
    assert end[1:3] == (503, "agent-unreachable"), end  # then fail closed
    assert end[0] - last_answer >= 3.0 - 0.2, (end[0] - last_answer, seen)  # not before the 3 s were up
    assert bed.served_by(3) == {"503:agent-unreachable"}
    # The SPOE path back: answers again, no fallback.
    relay.mend()
    bed.wait_traffic_on("dc1", timeout=15)
    assert bed.hap.get("/").header("X-Haes-Fallback") is None


def test_fallback_never_reaches_servers_the_checks_took_out(procs, tmp_path):
    """The documented risk, bounded by the shipped checks: while the SPOE
    path is cut, the agent fails over; the fallback still names dc1, but
    the health port's checks take dc1's servers out, so requests fail
    instead of writing to the fenced cluster."""
    bed, relay = start_with_relay(procs, tmp_path, HAES_FALLBACK_FOR="60s")
    relay.cut()
    wait_for(lambda: bed.hap.get("/").header("X-Haes-Fallback") is not None, 10, what="the fallback in use")
    r = bed.agent.haesctl("failover", "--to", "dc2", "--reason", "test")
    assert r.returncode == 0, r.stdout
    bed.hap.wait_servers("es_dc1", "DOWN")
    seen = bed.served_by(6)
    assert "dc1" not in seen and "dc2" not in seen, seen  # HAProxy's own 503: no server in es_dc1
    assert all(s.startswith("503") for s in seen), seen
