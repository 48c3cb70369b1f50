#!/usr/bin/python3
"""Failover time with several agents (docs/benchmarks.md "Several agents").
Prints figures; asserts only the safety property (no verdict overlap).

    tests/bench/rto_agents.py [--runs N] [--agents K]

For each run: a real 3-member etcd, dc1 and dc2 (essim), K agents with
state.store: etcd and the default failover settings (a round every 1 s,
3 bad rounds); dc1 is forced red and the time until each agent answers
positive for dc2 is measured from the samplers (every 30 ms), in two cases:
the leader alive, and the leader killed (SIGKILL) at the moment dc1 goes
red. The same with one agent on its local store gives the reference. The
history checker runs through every run; its smallest handover gap (the
price of "never two clusters at once") is printed."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

from haestest.agent import AgentRun  # noqa: E402
from haestest.essim import EssimCluster  # noqa: E402
from haestest.history import Sampler, check_exclusive  # noqa: E402
from haestest.proc import ProcessGroup, wait_for  # noqa: E402
from haestest.trio import Trio  # noqa: E402

DEFAULTS = {"interval": "1s", "timeout": "800ms", "fail_threshold": 3, "hold_down": "0s"}


def first_positive_after(history, agent: str, cluster: str, t0: float):
    for s in history.samples(agent, cluster):
        if s.positive and s.t_start >= t0:
            return s.t_start - t0
    return None


def local_reference(tmp: Path) -> float:
    with ProcessGroup(tmp / "procs") as procs:
        dc1 = EssimCluster.start(procs, "dc1", nodes=2, repo_root=tmp / "repo", workdir=tmp / "dc1")
        dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=tmp / "repo", workdir=tmp / "dc2")
        clusters = {c.name: {f"es{k + 1}": c.port(n) for k, n in enumerate(c.node_names)} for c in (dc1, dc2)}
        run = AgentRun(tmp / "agent", clusters, extra={"failover": dict(DEFAULTS)})
        run.start(procs)
        sampler = Sampler(interval=0.03)
        sampler.health("local", "127.0.0.1", run.health_port, ["dc1", "dc2"])
        sampler.start(procs)
        wait_for(lambda: run.health("/lb/dc1")[0] == 200, 20, what="dc1 positive")
        time.sleep(1.5)  # the history's quiet baseline before the fault: a measured interval, not a wait
        t0 = time.monotonic()
        dc1.force_red()
        wait_for(lambda: run.health("/lb/dc2")[0] == 200, 30, what="dc2 positive")
        time.sleep(0.3)  # samples after dc2 turned positive, so the history shows it held: measured
        history = sampler.stop()
        return first_positive_after(history, "local", "dc2", t0)


def one_run(tmp: Path, agents: int, kill_leader: bool):
    with ProcessGroup(tmp / "procs") as procs:
        trio = Trio(procs, tmp, agents=agents, failover=DEFAULTS)
        leader = trio.leader()
        time.sleep(1.5)  # the history's quiet baseline before the fault: a measured interval, not a wait
        trio.history.mark("dc1 red" + (f", leader {leader.name} killed" if kill_leader else ""))
        t0 = time.monotonic()
        trio.dc1.force_red()
        if kill_leader:
            leader.run.proc.kill9()
        alive = [a for a in trio.agents if not (kill_leader and a is leader)]
        trio.wait_all_positive("dc2", timeout=40, agents=alive)
        time.sleep(0.3)  # samples after dc2 turned positive, so the history shows it held: measured
        history = trio.sampler.stop()
        verdict = check_exclusive(history, tolerance=0.0)
        times = {a.name: first_positive_after(history, a.name, "dc2", t0) for a in alive}
        return times, verdict


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--agents", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="haes-rto-agents-") as tmp:
        tmp = Path(tmp)
        ref = [local_reference(tmp / f"local{i}") for i in range(a.runs)]
        print(f"one agent, local store: dc1 red -> dc2 positive in "
              f"{', '.join(f'{x:.2f}' for x in ref)} s (median {statistics.median(ref):.2f} s)")
        for kill in (False, True):
            firsts, lasts, gaps = [], [], []
            for i in range(a.runs):
                times, verdict = one_run(tmp / f"{'kill' if kill else 'alive'}{i}", a.agents, kill)
                if not verdict.ok:
                    print(verdict.summary())
                    return 1
                vals = [t for t in times.values() if t is not None]
                firsts.append(min(vals))
                lasts.append(max(vals))
                if verdict.min_handover_gap is not None:
                    gaps.append(verdict.min_handover_gap)
            label = "leader killed when dc1 goes red" if kill else "leader alive"
            print(f"{a.agents} agents, etcd, {label}: first agent positive for dc2 after "
                  f"{', '.join(f'{x:.2f}' for x in firsts)} s (median {statistics.median(firsts):.2f}), "
                  f"last agent after {', '.join(f'{x:.2f}' for x in lasts)} s (median {statistics.median(lasts):.2f}); "
                  f"overlap: none; smallest handover gap {min(gaps) * 1000:.0f} ms" if gaps else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
