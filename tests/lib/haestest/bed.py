"""The failover test bed: two essim clusters (dc1, dc2) sharing a snapshot
repository root, haes-agent probing them, and real HAProxy in front routing
by the agent's verdicts. Everything on run-time loopback ports, every process
in the test's ProcessGroup.

The agent names each cluster's nodes es1, es2 (HAProxy's server names, which
its health checks send as /lb/<cluster>/<server>); they point at essim's
dc1-n1, dc1-n2 ports.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Optional

from haestest.agent import AgentRun
from haestest.essim import EssimCluster
from haestest.haproxy import HAProxy
from haestest.proc import ProcessGroup, wait_for


def sync_config(**sync_keys) -> dict:
    """The `sync:` section most tests use: `orders*` synced through one fs
    repository both clusters read (`shared` under the common repository
    root), every hour — so only the first scheduled sync and the test's own
    `haesctl sync now` run. `sync_keys` add or replace keys of the section."""
    section = {"interval": "1h", "indices": ["orders*"],
               "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}}
    section.update(sync_keys)
    return {"sync": section}


class Bed:
    def __init__(self, procs: ProcessGroup, workdir: Path, dc1: EssimCluster, dc2: EssimCluster,
                 agent: AgentRun, hap: Optional[HAProxy]):
        self.procs, self.workdir = procs, workdir
        self.dc1, self.dc2 = dc1, dc2
        self.agent, self.hap = agent, hap

    @classmethod
    def start(cls, procs: ProcessGroup, workdir: Path, *, haproxy: bool = True,
              agent_extra: Optional[dict] = None, preferred: str = "dc1", nodes: int = 2,
              separate_repos: bool = False, haproxy_port: Optional[int] = None) -> "Bed":
        """nodes: per cluster; the agent probes all of them, HAProxy's backends
        hold the first two (servers es1, es2). separate_repos: each cluster
        has its own path.repo (workdir/repo-dc1, workdir/repo-dc2: two sites,
        nothing shared) instead of one shared workdir/repo. haproxy_port:
        HAProxy's frontend port, chosen beforehand for an agent config that
        names it (drill.through)."""
        roots = {}
        for name in ("dc1", "dc2"):
            roots[name] = workdir / (f"repo-{name}" if separate_repos else "repo")
            roots[name].mkdir(parents=True, exist_ok=True)
        dc1 = EssimCluster.start(procs, "dc1", nodes=nodes, repo_root=roots["dc1"], workdir=workdir / "essim-dc1")
        dc2 = EssimCluster.start(procs, "dc2", nodes=nodes, repo_root=roots["dc2"], workdir=workdir / "essim-dc2")
        clusters = {c.name: {f"es{i}": c.port(n) for i, n in enumerate(c.node_names, start=1)}
                    for c in (dc1, dc2)}
        extra = {"failover": {"hold_down": "5s"}}
        for k, v in (agent_extra or {}).items():
            if isinstance(v, dict) and isinstance(extra.get(k), dict):
                extra[k].update(v)
            else:
                extra[k] = v
        agent = AgentRun(workdir / "agent", clusters, preferred=preferred, extra=extra)
        agent.start(procs)
        bed = cls(procs, workdir, dc1, dc2, agent, None)
        bed.wait_status(lambda s: s["health_round"] >= 1, what="a first health round")
        if haproxy:
            bed.hap = HAProxy.start(procs, workdir / "haproxy", spoe_port=agent.spoe_port,
                                    health_port=agent.health_port,
                                    nodes={c.name: [c.port(n) for n in c.node_names[:2]] for c in (dc1, dc2)},
                                    frontend_port=haproxy_port)
        return bed

    def seed_orders(self, docs: int = 50, shards: int = 1, replicas: int = 0):
        """With a sync configured: after the first scheduled sync, `orders`
        on dc1 with `docs` documents, synced to dc2 by `haesctl sync now`."""
        self.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first scheduled sync")
        self.dc1.create_index("orders", shards=shards, replicas=replicas)
        self.dc1.bulk_index("orders", {i: {"n": i} for i in range(docs)})
        r = self.agent.haesctl("sync", "now", timeout=120)
        assert r.returncode == 0, r.stdout

    def cluster(self, name: str) -> EssimCluster:
        return {"dc1": self.dc1, "dc2": self.dc2}[name]

    # ---- the agent ----------------------------------------------------------

    def status(self) -> dict:
        r = self.agent.haesctl("status", "--json")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        return json.loads(r.stdout)

    def wait_status(self, pred, timeout: float = 15, what: str = "agent status") -> dict:
        """Waits until pred(status) holds; returns that status."""
        seen = {}

        def check():
            seen["s"] = self.status()
            return pred(seen["s"])
        wait_for(check, timeout, what=what)
        return seen["s"]

    def events(self) -> list:
        r = self.agent.haesctl("events", "100", "--json")
        assert r.returncode == 0, (r.stdout, r.stderr)
        return json.loads(r.stdout)["events"]

    def last_event(self) -> dict:
        """The newest event that is not a readiness change: after a role
        change the new passive cluster's readiness is journaled at the next
        health round, which may come before the test looks."""
        return [e for e in self.events() if e["kind"] != "readiness"][-1]

    def metric(self, name: str, **labels) -> Optional[float]:
        _, body = self.agent.health("/metrics")
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        pat = re.compile("^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$", re.M)
        m = pat.search(body)
        return float(m.group(1)) if m else None

    # ---- traffic through HAProxy ---------------------------------------------

    def served_by(self, n: int = 10) -> set:
        """Sends n requests through HAProxy; returns what answered: cluster
        names, or "503:<X-Haes-Reason>" for refusals."""
        seen = set()
        for _ in range(n):
            r = self.hap.get("/")
            if r.status == 200:
                seen.add(json.loads(r.body)["cluster_name"])
            else:
                seen.add(f"{r.status}:{r.header('X-Haes-Reason')}")
        return seen

    def wait_traffic_on(self, cluster: str, timeout: float = 15) -> float:
        """Waits until every request lands on `cluster`; returns when (monotonic)."""
        wait_for(lambda: self.served_by(3) == {cluster}, timeout, what=f"traffic on {cluster}")
        return time.monotonic()
