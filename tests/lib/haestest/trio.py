"""Several agents on one etcd for tests and benchmarks: a real 3-member etcd,
dc1 and dc2 (essim), N haes agents with `state.store: etcd`; every path an
agent uses (to each etcd member, to each Elasticsearch node, to the other
agents' /peer) goes through a fault proxy the caller can cut, and a sampler records every agent's verdicts
for the history checker (docs/testing.md)."""

from __future__ import annotations

import json
from pathlib import Path

from haestest.agent import AgentRun
from haestest.essim import EssimCluster
from haestest.etcd import EtcdCluster
from haestest.faultproxy import FaultProxy
from haestest.history import Sampler, check_exclusive
from haestest.pki import make_ca, make_cert
from haestest.proc import free_port, wait_for

PREFIX = "/haes/it/"
FAST = {"interval": "300ms", "timeout": "250ms", "fail_threshold": 3, "hold_down": "0s"}


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


class Agent:
    def __init__(self, name: str, run: AgentRun, etcd_proxies: list, node_proxies: dict, peer_proxy: FaultProxy):
        self.name = name
        self.run = run
        self.etcd_proxies = etcd_proxies     # one per etcd member
        self.node_proxies = node_proxies     # cluster -> [proxy per node]
        self.peer_proxy = peer_proxy         # in front of its health port, as the others call it (GET /peer)

    def status(self) -> dict:
        r = self.run.haesctl("status", "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def positive(self, cluster: str) -> bool:
        return self.run.health(f"/lb/{cluster}")[0] == 200

    def cut_etcd(self):
        for p in self.etcd_proxies:
            p.cut("blackhole")

    def heal_etcd(self):
        for p in self.etcd_proxies:
            p.heal()

    def cut_peers(self, mode: str = "blackhole"):
        """The other agents can no longer reach this one's /peer."""
        self.peer_proxy.cut(mode)

    def heal_peers(self):
        self.peer_proxy.heal()

    def cut_cluster(self, cluster: str):
        for p in self.node_proxies[cluster]:
            p.cut("blackhole")


class Trio:
    """etcd (3 members), dc1 and dc2 (2 nodes each), N agents, a sampler."""

    def __init__(self, procs, tmp_path: Path, agents: int = 3, extra: dict | None = None,
                 failover: dict | None = None, admin_ports: bool = False):
        self.failover = dict(FAST if failover is None else failover)
        self.procs = procs
        self.tmp = tmp_path
        # admin_ports: every agent gets an admin port (TLS, one CA, one shared
        # token) so commands typed on a follower are sent to the leader.
        self.admin = None
        if admin_ports:
            ca = make_ca(tmp_path / "pki", "admin")
            cert = make_cert(tmp_path / "pki", "agents-admin", ca)
            token = tmp_path / "admin.token"
            token.write_text("trio-admin-token-93d1\n")
            token.chmod(0o600)  # a secret file others can read is refused (docs/security.md)
            self.admin = {"ca": ca[0], "cert": cert[0], "key": cert[1], "token": token}
        self.etcd = EtcdCluster.start(procs, tmp_path / "etcd", heartbeat_ms=50, election_ms=500)
        repo = tmp_path / "repo"
        self.dc1 = EssimCluster.start(procs, "dc1", nodes=2, repo_root=repo, workdir=tmp_path / "dc1")
        self.dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=repo, workdir=tmp_path / "dc2")
        self.agents: list[Agent] = []
        for i in range(agents):
            self.agents.append(self._agent(f"a{i + 1}", extra or {}))
        self.sampler = Sampler(interval=0.03)
        for a in self.agents:
            self.sampler.health(a.name, "127.0.0.1", a.run.health_port, ["dc1", "dc2"])
        self.sampler.start(procs)
        self.history = self.sampler.history
        self.wait_all_positive("dc1", timeout=30)

    def _agent(self, name: str, extra: dict) -> Agent:
        etcd_proxies = [FaultProxy.start(self.procs, port_of(ep)) for ep in self.etcd.endpoints]
        node_proxies = {c.name: [FaultProxy.start(self.procs, c.port(n)) for n in c.node_names]
                        for c in (self.dc1, self.dc2)}
        clusters = {c: {f"es{k + 1}": p.port for k, p in enumerate(px)} for c, px in node_proxies.items()}
        cfg = {"agent": {"name": name},
               "state": {"store": "etcd",
                         "etcd": {"endpoints": [p.url() for p in etcd_proxies], "prefix": PREFIX}},
               "failover": dict(self.failover)}
        for k, v in extra.items():
            cfg.setdefault(k, {}).update(v)
        if self.admin:
            cfg.setdefault("admin", {})["port"] = {
                "listen": f"127.0.0.1:{free_port()}", "cert_file": str(self.admin["cert"]),
                "key_file": str(self.admin["key"]), "ca_file": str(self.admin["ca"]),
                "token_file": str(self.admin["token"])}
        run = AgentRun(self.tmp / name, clusters, extra=cfg)
        # The others reach its health port (GET /peer, the failsafe) through
        # a proxy the caller can cut; the samplers call the port itself.
        peer_proxy = FaultProxy.start(self.procs, run.health_port)
        run.extra.setdefault("health", {})["advertise_url"] = peer_proxy.url()
        run.start(self.procs)
        return Agent(name, run, etcd_proxies, node_proxies, peer_proxy)

    def wait_all_positive(self, cluster: str, timeout: float = 20, agents=None):
        agents = agents or self.agents
        wait_for(lambda: all(a.positive(cluster) for a in agents), timeout,
                 what=f"{[a.name for a in agents]} positive for {cluster}")

    def leader(self) -> Agent:
        def find():
            for a in self.agents:
                if a.run.proc.alive() and a.status()["pair"]["this_is_leader"]:
                    return a
            return None
        return wait_for(find, 15, what="a leader")

    def journal(self, kind: str) -> list:
        kv = self.etcd.client().get_prefix(PREFIX + "journal/")
        return [k for k in kv if f'"{kind}"' in k.value.decode("latin-1") or kind.encode() in k.value]

    def failovers(self) -> int:
        # The journal is read from etcd (timeout 400 ms): on a loaded
        # machine one read may time out; that is retried, a wrong answer not.
        def read():
            r = self.agents[0].run.haesctl("events", "100", "--json")
            return (json.loads(r.stdout)["events"],) if r.returncode == 0 else None
        events = wait_for(read, 10, what="the journal from etcd")[0]
        return sum(1 for e in events if e["kind"] in ("failover", "forced_failover"))

    def check(self):
        verdict = check_exclusive(self.sampler.stop(), tolerance=0.0)
        assert verdict.ok, verdict.summary()
        return verdict


