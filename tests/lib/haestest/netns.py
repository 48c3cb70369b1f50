"""Network namespaces for agents (needs root): each agent in its own network
stack, so a test can cut one agent's path to one etcd member, essim node or
peer agent with an iptables DROP rule inside that namespace — a real
partition: the connect() itself times out, nothing is refused.

Addressing plan (one lab per test):

    host (root namespace)                     lab N: bridge haestbrN, 10.231.N.0/24
      127.0.0.1        essim, etcd, HAProxy, as in every test
      10.231.N.1       the host on the bridge: lab.host_ip
      namespace haest-N-0  10.231.N.2   (eth0, veth to the bridge)  e.g. agent a
      namespace haest-N-1  10.231.N.3                               e.g. agent b

- The host reaches every namespace address, and namespaces reach each other
  across the bridge (agent -> agent).
- 127.0.0.1 inside a namespace is that namespace's own loopback: a service
  on the host's 127.0.0.1 is out of reach. Make it listen on lab.host_ip too
  (etcd: EtcdCluster.start(hosts=("127.0.0.1", lab.host_ip))), or expose it
  with lab.expose(port): a FaultProxy on lab.host_ip:port -> 127.0.0.1:port
  (essim binds 127.0.0.1 only) — which also gives that path delay and loss.
- An agent inside listens on its namespace address (ns.ip), so HAProxy and
  the samplers on the host reach it; AgentRun(host=ns.ip,
  node_host=lab.host_ip, launcher=ns.launcher) does that.
- No DNS inside: /etc/netns/<ns>/resolv.conf names the namespace's own
  loopback, so a lookup fails at once instead of waiting for timeouts.

Clean-up always happens: NetLab.create(procs) registers lab.close() with the
test's ProcessGroup (processes started in a namespace are stopped first), and
every NetLab.create() first sweeps what a dead test left: each lab is claimed
by an owner file /run/haestest-netns/N (pid and start time of the test
process) written before anything is created and removed last; a lab whose
owner is gone (or a haest-* namespace or haestbr* bridge with no owner file)
is removed, after killing the processes still running in its namespaces.
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from haestest.faultproxy import FaultProxy
from haestest.proc import Proc, ProcessGroup

NS_PREFIX = "haest-"
BRIDGE_PREFIX = "haestbr"
VETH_PREFIX = "haestv"
OWNER_DIR = Path("/run/haestest-netns")
ETC_NETNS = Path("/etc/netns")  # `ip netns exec NS` bind-mounts /etc/netns/NS/* over /etc/*
# No DNS server is reachable from a namespace: a lookup would wait for its
# timeouts (Python's http.server looks its own address up: 10+ s). Asking
# the namespace's own loopback fails at once instead.
RESOLV_CONF = "# haestest: no DNS inside test namespaces\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
SUPERNET = "10.231"
RULE_COMMENT = "haestest"


class NetnsError(RuntimeError):
    pass


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    """Runs one command (ip, iptables); a failure names the command and its stderr."""
    res = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise NetnsError(f"`{' '.join(map(str, argv))}` failed (exit {res.returncode}): "
                         f"{(res.stderr or res.stdout).strip()}")
    return res


def _start_time(pid: int) -> Optional[str]:
    """Field 22 of /proc/<pid>/stat (start time in ticks): tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_alive(text: str) -> bool:
    try:
        pid_s, start = text.split()
        return _start_time(int(pid_s)) == start
    except ValueError:
        return False


def _namespaces() -> list[str]:
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _bridges() -> list[str]:
    out = sh("ip", "-o", "link", "show", "type", "bridge", check=False).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def _kill_namespace(ns: str) -> None:
    """Kills what still runs in a stale namespace (left by a dead test), then deletes it."""
    pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    sh("ip", "netns", "del", ns, check=False)
    shutil.rmtree(ETC_NETNS / ns, ignore_errors=True)


def _remove_lab(n: int) -> None:
    for ns in _namespaces():
        if ns.startswith(f"{NS_PREFIX}{n}-"):
            _kill_namespace(ns)
    sh("ip", "link", "del", f"{BRIDGE_PREFIX}{n}", check=False)


def sweep_stale() -> list[int]:
    """Removes the labs whose owner process is gone, and haest-*/haestbr*
    leftovers with no owner file. Returns the lab numbers removed."""
    removed = []
    OWNER_DIR.mkdir(parents=True, exist_ok=True)
    owned = {}
    for f in OWNER_DIR.iterdir():
        if f.name.isdigit():
            try:
                owned[int(f.name)] = f.read_text()
            except OSError:
                continue
    for n, text in owned.items():
        if not _owner_alive(text):
            _remove_lab(n)
            (OWNER_DIR / str(n)).unlink(missing_ok=True)
            removed.append(n)
    # Leftovers without an owner file (it is written before and removed after them).
    for ns in _namespaces():
        if ns.startswith(NS_PREFIX):
            n = ns[len(NS_PREFIX):].split("-")[0]
            if n.isdigit() and not (OWNER_DIR / n).exists():
                _kill_namespace(ns)
                removed.append(int(n))
    if ETC_NETNS.is_dir():
        live = set(_namespaces())
        for d in ETC_NETNS.glob(NS_PREFIX + "*"):
            if d.name not in live:
                shutil.rmtree(d, ignore_errors=True)
    for br in _bridges():
        n = br[len(BRIDGE_PREFIX):]
        if br.startswith(BRIDGE_PREFIX) and n.isdigit() and not (OWNER_DIR / n).exists():
            sh("ip", "link", "del", br, check=False)
            removed.append(int(n))
    return sorted(set(removed))


@dataclass
class Rule:
    chain: str
    spec: tuple

    def __str__(self) -> str:
        return f"{self.chain} {' '.join(self.spec)}"


@dataclass
class Netns:
    """One namespace of a lab: its name, address, processes and DROP rules."""
    lab: "NetLab"
    label: str
    name: str
    ip: str
    procs: list = field(default_factory=list)
    rules: list = field(default_factory=list)

    @property
    def launcher(self) -> list[str]:
        """The argv prefix that runs a command in this namespace."""
        return ["ip", "netns", "exec", self.name]

    def run(self, argv: Sequence[str], timeout: float = 20, check: bool = False) -> subprocess.CompletedProcess:
        """Runs a command inside and waits for it."""
        return sh(*self.launcher, *argv, check=check, timeout=timeout)

    def start(self, procs: ProcessGroup, name: str, argv: Sequence[str], env: Optional[dict] = None) -> Proc:
        """Starts a process inside through the test's ProcessGroup."""
        proc = procs.start(name, [*self.launcher, *argv], env=env)
        self.procs.append(proc)
        return proc

    # -- cutting paths --

    def _iptables(self, action: str, rule: Rule) -> None:
        self.run(["iptables", "-w", action, rule.chain, *rule.spec], check=True)

    def _add(self, rules: list) -> list:
        for r in rules:
            self._iptables("-A", r)
            self.rules.append(r)
        return rules

    def block(self, host: str, port: Optional[int] = None) -> list:
        """Cuts this namespace's path to host[:port], for the connections it
        opens: what it sends there and what comes back from there are
        dropped (new connections time out, open ones stall). Without port,
        every packet to and from host (also host's connections to us)."""
        tag = ("-m", "comment", "--comment", RULE_COMMENT, "-j", "DROP")
        if port is None:
            return self._add([Rule("OUTPUT", ("-d", host, *tag)), Rule("INPUT", ("-s", host, *tag))])
        p = str(port)
        return self._add([Rule("OUTPUT", ("-p", "tcp", "-d", host, "--dport", p, *tag)),
                          Rule("INPUT", ("-p", "tcp", "-s", host, "--sport", p, *tag))])

    def block_inbound(self, port: int, source: Optional[str] = None) -> list:
        """Drops connections to this namespace's port (from source only, if given)."""
        src = ("-s", source) if source else ()
        tag = ("-m", "comment", "--comment", RULE_COMMENT, "-j", "DROP")
        return self._add([Rule("INPUT", ("-p", "tcp", *src, "--dport", str(port), *tag))])

    def unblock(self, host: Optional[str] = None, port: Optional[int] = None) -> int:
        """Removes the rules added for host[:port] (all of them without
        arguments); returns how many."""
        keep, drop = [], []
        for r in self.rules:
            match = host is None or host in r.spec and (port is None or str(port) in r.spec)
            (drop if match else keep).append(r)
        for r in drop:
            self._iptables("-D", r)
        self.rules = keep
        return len(drop)

    def iptables_rules(self) -> str:
        """`iptables -S` inside, for failure messages."""
        return self.run(["iptables", "-w", "-S"]).stdout

    def tcp_reachable(self, host: str, port: int, timeout: float = 1.0) -> bool:
        """Whether a TCP connect from inside to host:port succeeds in time."""
        code = (f"import socket; socket.create_connection(({host!r}, {int(port)}), timeout={timeout}).close()")
        return self.run(["/usr/bin/python3", "-c", code], timeout=timeout + 10).returncode == 0

    def stop_procs(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


class NetLab:
    """One bridge with namespaces on it, for one test."""

    def __init__(self, n: int):
        self.n = n
        self.bridge = f"{BRIDGE_PREFIX}{n}"
        self.network = ipaddress.ip_network(f"{SUPERNET}.{n}.0/24")
        self.host_ip = f"{SUPERNET}.{n}.1"
        self.namespaces: list[Netns] = []
        self.proxies: list[FaultProxy] = []
        self._closed = False

    @classmethod
    def create(cls, procs: Optional[ProcessGroup] = None) -> "NetLab":
        """Sweeps stale labs, claims a free lab number, creates its bridge
        with the host address; closed with procs."""
        if os.geteuid() != 0:
            raise NetnsError("network namespaces need root: this test runs as uid "
                             f"{os.geteuid()} (run the suite as root, as CI does)")
        sweep_stale()
        lab = cls._claim()
        try:
            sh("ip", "link", "add", lab.bridge, "type", "bridge")
            sh("ip", "addr", "add", f"{lab.host_ip}/24", "dev", lab.bridge)
            sh("ip", "link", "set", lab.bridge, "up")
        except Exception:
            lab.close()
            raise
        if procs is not None:
            procs.defer(lab.close)
        return lab

    @classmethod
    def _claim(cls) -> "NetLab":
        OWNER_DIR.mkdir(parents=True, exist_ok=True)
        me = f"{os.getpid()} {_start_time(os.getpid())}"
        used = sh("ip", "-o", "addr", "show", check=False).stdout + sh("ip", "route", "show", check=False).stdout
        candidates = list(range(256))
        random.shuffle(candidates)
        for n in candidates:
            if f"{SUPERNET}.{n}." in used:
                continue  # the address range is in use by something else
            try:
                fd = os.open(OWNER_DIR / str(n), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w") as f:
                f.write(me)
            return cls(n)
        raise NetnsError(f"no free lab number: all of {SUPERNET}.0-255.0/24 are taken ({OWNER_DIR})")

    def add(self, label: str) -> Netns:
        """A new namespace on the bridge: eth0 with the next address, lo up,
        a default route through the host."""
        i = len(self.namespaces)
        if i > 250:
            raise NetnsError(f"lab {self.n}: at most 251 namespaces")
        name, ip = f"{NS_PREFIX}{self.n}-{i}", f"{SUPERNET}.{self.n}.{i + 2}"
        veth = f"{VETH_PREFIX}{self.n}x{i}"
        sh("ip", "netns", "add", name)
        ns = Netns(self, label, name, ip)
        self.namespaces.append(ns)
        (ETC_NETNS / name).mkdir(parents=True, exist_ok=True)
        (ETC_NETNS / name / "resolv.conf").write_text(RESOLV_CONF)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        sh("ip", "link", "set", veth, "master", self.bridge, "up")
        sh("ip", "-n", name, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", name, "link", "set", "eth0", "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "route", "add", "default", "via", self.host_ip)
        return ns

    def expose(self, port: int, name: Optional[str] = None) -> FaultProxy:
        """Makes 127.0.0.1:port reachable from the namespaces as
        host_ip:port, through a FaultProxy (closed with the lab)."""
        proxy = FaultProxy(port, listen_host=self.host_ip, listen_port=port, name=name)
        self.proxies.append(proxy)
        return proxy

    def close(self) -> None:
        """Stops the processes started in the namespaces, closes the
        proxies, deletes namespaces and bridge, then the owner file. Safe to
        call twice."""
        if self._closed:
            return
        self._closed = True
        for ns in reversed(self.namespaces):
            ns.stop_procs()
        for proxy in self.proxies:
            proxy.close()
        for ns in reversed(self.namespaces):
            _kill_namespace(ns.name)  # nothing is left in it unless a process escaped the group
        sh("ip", "link", "del", self.bridge, check=False)
        (OWNER_DIR / str(self.n)).unlink(missing_ok=True)
