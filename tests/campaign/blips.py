"""Campaign `blips`: N faults shorter than the failover threshold -> 0
failovers; then M real failures -> M failovers, each within the RTO bound
of the config (fail_threshold x interval + 1 s, docs/failover.md).

Bed: dc1 and dc2 (essim, 2 nodes each), one agent, HAProxy in front. The
agent runs in its own network namespace when the machine allows it (root,
`ip netns`): its paths to the ES nodes then go through the lab's fault
proxies (netlab.expose: delay, loss, blackhole) and an iptables DROP rule
in its namespace cuts them for real (connect() times out). Without
namespaces the agent runs on loopback behind plain fault proxies and the
iptables kind is left out, which the report says.

A blip lasts a random time in [0.2 s, max_blip], max_blip =
(fail_threshold - 1) x interval - timeout - 0.15 s: even a probe started
just before the fault ends (and timing out) leaves the bad streak one round
short of the threshold. Each blip is checked at once (epoch unchanged, no
failover in the journal) and the agent must be back to 0 bad rounds before
the next one. The report counts the blips that the agent actually saw (it
logged a bad round of dc1): a blip it never saw proves nothing.
"""

from __future__ import annotations

import json
import time

from haestest.agent import AgentRun
from haestest.essim import EssimCluster
from haestest.faultproxy import FaultProxy
from haestest.haproxy import HAProxy
from haestest.proc import wait_for

from common import Ctx, events, status, wait_status

INTERVAL, TIMEOUT, THRESHOLD = 0.4, 0.3, 4
RTO_BOUND = THRESHOLD * INTERVAL + 1.0
MAX_BLIP = (THRESHOLD - 1) * INTERVAL - TIMEOUT - 0.15

BLIP_KINDS = ["stop", "hang", "slow", "5xx", "garbage", "red", "delay", "loss", "blackhole", "iptables_cut"]
FAILURE_KINDS = ["stop", "hang", "5xx", "garbage", "red", "blackhole", "iptables_cut"]


class BlipBed:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        procs, work = ctx.procs, ctx.workdir
        repo = work / "repo"
        self.dc = {c: EssimCluster.start(procs, c, nodes=2, repo_root=repo, workdir=work / f"essim-{c}")
                   for c in ("dc1", "dc2")}
        self.ns = None
        self.lab = None
        extra = {"failover": {"interval": f"{int(INTERVAL * 1000)}ms", "timeout": f"{int(TIMEOUT * 1000)}ms",
                              "fail_threshold": THRESHOLD, "hold_down": "0s"},
                 "log": {"level": "info"}}
        try:
            from haestest.netns import NetLab
            self.lab = NetLab.create(procs)
        except Exception as exc:  # noqa: BLE001 - reported, and the kind is left out
            ctx.report.note(f"no network namespace ({exc}): agent on loopback, iptables_cut left out")
        self.proxies: dict[str, list[FaultProxy]] = {}
        if self.lab is not None:
            for c in self.dc.values():
                self.proxies[c.name] = [self.lab.expose(c.port(n)) for n in c.node_names]
            self.ns = self.lab.add("agent")
            clusters = {c.name: {f"es{i}": c.port(n) for i, n in enumerate(c.node_names, start=1)}
                        for c in self.dc.values()}
            self.agent = AgentRun(work / "agent", clusters, extra=extra, host=self.ns.ip,
                                  node_host=self.lab.host_ip, launcher=self.ns.launcher)
            env = {"HAES_SPOE_ADDR": f"{self.ns.ip}:{self.agent.spoe_port}", "HAES_HEALTH_HOST": self.ns.ip}
        else:
            for c in self.dc.values():
                self.proxies[c.name] = [FaultProxy.start(procs, c.port(n)) for n in c.node_names]
            clusters = {c: {f"es{i}": p.port for i, p in enumerate(px, start=1)} for c, px in self.proxies.items()}
            self.agent = AgentRun(work / "agent", clusters, extra=extra)
            env = {}
        self.agent.start(procs)
        wait_status(self.agent, lambda s: s["health_round"] >= 1 and s["clusters"][0]["health"] == "green",
                    what="a first green round")
        self.hap = HAProxy.start(procs, work / "haproxy", spoe_port=self.agent.spoe_port,
                                 health_port=self.agent.health_port, extra_env=env,
                                 nodes={c.name: [c.port(n) for n in c.node_names] for c in self.dc.values()})
        self.hap.wait_servers("es_dc1", "UP")
        self.kinds = [k for k in BLIP_KINDS if k != "iptables_cut" or self.ns is not None]
        self.failure_kinds = [k for k in FAILURE_KINDS if k != "iptables_cut" or self.ns is not None]

    # ---- faults -------------------------------------------------------------

    def apply(self, kind: str, cluster: str, rng) -> str:
        """Applies a fault to `cluster` as the agent sees it; returns a
        description. Node faults hit every node (one bad node is not a bad
        cluster), except `stop`, which takes one or both."""
        c = self.dc[cluster]
        nodes = c.node_names
        if kind == "stop":
            which = nodes if rng.random() < 0.5 else [rng.choice(nodes)]
            for n in which:
                c.stop_node(n)
            self._stopped = which
            return f"stop {','.join(which)}"
        if kind == "hang":
            for n in nodes:
                c.hang_node(n)
            return "hang all nodes"
        if kind == "slow":
            ms = int(TIMEOUT * 1000) + rng.randint(50, 500)
            for n in nodes:
                c.slow_node(n, ms=ms)
            return f"slow all nodes by {ms} ms"
        if kind == "5xx":
            status = rng.choice([500, 502, 503, 429])
            for n in nodes:
                c.fail_node(n, status=status)
            return f"every answer HTTP {status}"
        if kind == "garbage":
            mode = rng.choice(["non_json", "truncated", "drop"])
            for n in nodes:
                c.break_node(n, mode=mode)
            return f"garbage answers ({mode})"
        if kind == "red":
            c.force_red()
            return "cluster red"
        px = self.proxies[cluster]
        if kind == "delay":
            ms = int(TIMEOUT * 1000) + rng.randint(50, 400)
            for p in px:
                p.delay(ms)
                p.reset_connections()  # kept-alive connections would carry the delay only on their next chunk
            return f"proxy delay {ms} ms"
        if kind == "loss":
            mode = rng.choice(["reset", "stall"])
            for p in px:
                p.loss(1.0, mode)
                p.reset_connections()  # loss is per new connection
            return f"proxy loss 100% ({mode})"
        if kind == "blackhole":
            for p in px:
                p.cut("blackhole", existing="stall")
            return "proxy blackhole"
        if kind == "iptables_cut":
            for n in nodes:
                self.ns.block(self.lab.host_ip, c.port(n))
            return "iptables DROP agent -> every node"
        raise ValueError(kind)

    def clear(self, kind: str, cluster: str) -> None:
        c = self.dc[cluster]
        if kind == "stop":
            for n in self._stopped:
                c.start_node(n)
        elif kind in ("hang", "slow", "5xx", "garbage"):
            for n in c.node_names:
                c.clear_node(n)
        elif kind == "red":
            c.heal()
        elif kind in ("delay", "loss", "blackhole"):
            for p in self.proxies[cluster]:
                p.heal()
        elif kind == "iptables_cut":
            self.ns.unblock()

    # ---- observations ---------------------------------------------------------

    def bad_seen(self) -> int:
        """How many times the agent logged dc1 turning bad (a round judged it
        unreachable or red). Read after the agent reported it green again,
        which it logs afterwards."""
        log = self.agent.proc.log()
        return log.count("cluster dc1 is unreachable") + log.count("cluster dc1 is red")

    def failovers(self) -> int:
        return sum(1 for e in events(self.agent) if e["kind"] in ("failover", "forced_failover"))

    def wait_quiet(self, active: str, timeout: float = 30) -> dict:
        """Every cluster green again and no bad round counted, in a round
        that started after the fault was cleared (a round in flight at the
        clear may still end bad: the next fault must not extend its streak)."""
        first = status(self.agent)["health_round"] + 2
        return wait_status(self.agent, lambda s: s["health_round"] >= first and s["active"] == active and all(
            c["health"] == "green" and c["bad_rounds"] == 0 for c in s["clusters"]),
            timeout, what="both clusters green with no bad round, two rounds after the clear")


def first_served_by(hap, cluster: str, t0: float, timeout: float) -> float:
    """Seconds from t0 until a request through HAProxy is answered by cluster."""
    deadline = t0 + timeout
    def served():  # an exception (a hung node) counts as "not yet" in wait_for
        r = hap.get("/", timeout=0.5)
        return r.status == 200 and json.loads(r.body)["cluster_name"] == cluster
    wait_for(served, max(0.0, deadline - time.monotonic()), what=f"traffic on {cluster}")
    return time.monotonic() - t0


def first_verdict(run, cluster: str, t0: float, timeout: float) -> float:
    """Seconds from t0 until the agent's health port says cluster may take traffic."""
    deadline = t0 + timeout
    wait_for(lambda: run.health(f"/lb/{cluster}")[0] == 200, max(0.0, deadline - time.monotonic()),
             what=f"{cluster} positive")
    return time.monotonic() - t0


def run(ctx: Ctx) -> None:
    rep, rng = ctx.report, ctx.rng
    n_blips, n_failures = ctx.params["iterations"], ctx.params["failures"]
    bed = BlipBed(ctx)
    rep.line(f"bed up: agent {'in namespace ' + bed.ns.name if bed.ns else 'on loopback'}; "
             f"interval {INTERVAL}s timeout {TIMEOUT}s fail_threshold {THRESHOLD}: blips up to {MAX_BLIP:.2f}s, "
             f"RTO bound {RTO_BOUND:.1f}s")
    s0 = status(bed.agent)
    epoch = s0["epoch"]
    for i in range(1, n_blips + 1):
        kind = rng.choice(bed.kinds)
        length = rng.uniform(0.2, MAX_BLIP)
        before = bed.bad_seen()
        what = bed.apply(kind, "dc1", rng)
        time.sleep(length)  # the fault's length is the point: a timed fault, not a wait
        bed.clear(kind, "dc1")
        try:
            s = bed.wait_quiet("dc1")
        except AssertionError as exc:
            rep.finding(f"blip {i}", f"{what} for {length:.2f}s: the agent did not settle: {exc}")
            s = status(bed.agent)
        seen = bed.bad_seen() > before
        rep.count(f"blip {kind}")
        rep.count("blips seen by the agent" if seen else "blips not seen by the agent")
        rep.figure("blip seconds", length)
        if s["epoch"] != epoch or s["active"] != "dc1":
            rep.finding(f"blip {i}", f"{what} for {length:.2f}s (shorter than the threshold) made the agent "
                                     f"change roles: epoch {epoch} -> {s['epoch']}, active {s['active']}")
            epoch = s["epoch"]
        rep.line(f"blip {i}/{n_blips}: {what} for {length:.2f}s: {'seen' if seen else 'not seen'}, "
                 f"epoch {s['epoch']} active {s['active']}")
    after_blips = bed.failovers()
    rep.counts["failovers after blips"] = after_blips
    if after_blips:
        rep.finding("blips", f"{after_blips} failover(s) in the journal after {n_blips} blips")

    for i in range(1, n_failures + 1):
        kind = rng.choice(bed.failure_kinds)
        s = status(bed.agent)
        epoch = s["epoch"]
        t0 = time.monotonic()
        what = bed.apply(kind, "dc1", rng)
        if kind == "stop":  # a real failure: every node
            for node in bed.dc["dc1"].node_names:
                if node not in bed._stopped:
                    bed.dc["dc1"].stop_node(node)
            bed._stopped = bed.dc["dc1"].node_names
            what = "stop every node"
        try:
            verdict = first_verdict(bed.agent, "dc2", t0, RTO_BOUND + 10)
            traffic = first_served_by(bed.hap, "dc2", t0, RTO_BOUND + 10)
        except AssertionError as exc:
            rep.finding(f"failure {i}", f"{what}: no failover: {exc}")
            verdict = traffic = None
        rep.count(f"failure {kind}")
        if traffic is not None:
            rep.figure("failover verdict seconds", verdict)
            rep.figure("failover traffic seconds (through HAProxy)", traffic)
            if traffic > RTO_BOUND:
                rep.finding(f"failure {i}", f"{what}: traffic reached dc2 after {traffic:.2f}s, "
                                            f"beyond the RTO bound {RTO_BOUND:.1f}s")
            else:
                rep.count("failovers within the RTO bound")
        bed.clear(kind, "dc1")
        try:
            s = wait_status(bed.agent, lambda s: s["active"] == "dc2" and s["clusters"][0]["health"] == "green",
                            30, what="dc1 green again, dc2 active")
            if s["epoch"] != epoch + 1:
                rep.finding(f"failure {i}", f"{what}: epoch {epoch} -> {s['epoch']} (one failover expected)")
            r = bed.agent.haesctl("failback", "--reason", f"campaign failure {i} repaired")
            if r.returncode != 0:
                rep.finding(f"failure {i}", f"failback refused: {r.stdout}")
            bed.wait_quiet("dc1")
        except AssertionError as exc:
            rep.finding(f"failure {i}", f"{what}: could not get back to dc1: {exc}")
            break
        rep.line(f"failure {i}/{n_failures}: {what}: verdict after "
                 f"{verdict if verdict is None else round(verdict, 2)}s, traffic after "
                 f"{traffic if traffic is None else round(traffic, 2)}s (bound {RTO_BOUND:.1f}s); failed back")
    total = bed.failovers()
    rep.counts["failovers in the journal"] = total
    if total != after_blips + n_failures:
        rep.finding("failures", f"{total} failovers in the journal, expected {after_blips + n_failures}")
