"""Campaign `partitions`: three agents on a real 3-member etcd
(haestest.trio.Trio: every agent -> etcd member and agent -> ES node path
through a fault proxy), partitions changing every few seconds, and the
verdict history checker sampling every agent all along: never two agents
positive for different clusters at the same instant.

Each step heals some of the faults in force and adds one, chosen at random:
- an agent cut from all of etcd, or from one member (blackhole or refuse);
- an etcd member stopped or killed, or quorum lost (majority stopped);
- an agent cut from dc1 or from dc2 (blackhole);
- an agent unreachable by the other agents (its /peer path: blackhole or
  refuse), which matters when etcd is down too (the failsafe);
- a cluster red for every agent (a real failure: the pair fails over);
- an operator's failback on a random agent when dc1 is fenced and healthy.
A step lasts a random 1-4 s. At the end every fault is healed, the agents
must agree again (all positive for the same cluster) and the history is
checked with tolerance 0.

Not covered (said in the report): partitions between etcd members (their
peer links are not proxied: a member is stopped instead); an agent's /peer
path is cut for every caller at once, not between two agents only.
"""

from __future__ import annotations

import time

from haestest.history import check_exclusive
from haestest.proc import wait_for
from haestest.trio import Trio

from common import Ctx, events


def run(ctx: Ctx) -> None:
    rep, rng = ctx.report, ctx.rng
    trio = Trio(ctx.procs, ctx.workdir, agents=3)
    rep.note("partitions between etcd members are stopped/killed members (peer links are not proxied); "
             "an agent's /peer path is cut for all its callers at once")
    h = trio.history
    faults: list = []          # (label, undo)
    stopped_members: list = []

    def heal_one(idx: int) -> None:
        label, undo = faults.pop(idx)
        undo()
        h.mark(f"heal: {label}")

    def add_fault(step: int) -> str:
        kind = rng.choice(["agent_etcd", "agent_member", "member_down", "quorum", "agent_cluster",
                           "agent_peers", "cluster_red", "failback"])
        agent = rng.choice(trio.agents)
        if kind == "agent_etcd":
            mode = rng.choice(["blackhole", "refuse"])
            for p in agent.etcd_proxies:
                p.cut(mode)
            label = f"{agent.name} cut from etcd ({mode})"
            faults.append((label, lambda ps=agent.etcd_proxies: [p.heal() for p in ps]))
        elif kind == "agent_member":
            j = rng.randrange(3)
            agent.etcd_proxies[j].cut("blackhole")
            label = f"{agent.name} cut from etcd member {j}"
            faults.append((label, agent.etcd_proxies[j].heal))
        elif kind in ("member_down", "quorum"):
            if stopped_members:
                return add_fault(step)  # one etcd fault at a time: healing restarts exactly what was stopped
            if kind == "member_down":
                j = rng.randrange(3)
                how = rng.choice(["stop", "kill"])
                (trio.etcd.stop_member if how == "stop" else trio.etcd.kill_member)(j)
                stopped_members.append(j)
                label = f"etcd member {j} {how}ped" if how == "stop" else f"etcd member {j} killed"

                def undo(j=j):
                    trio.etcd.start_member(j)
                    stopped_members.clear()
                faults.append((label, undo))
            else:
                members = trio.etcd.lose_quorum(kill=rng.random() < 0.5)
                stopped_members.extend(members)
                label = f"etcd quorum lost ({len(members)} members down)"

                def undo(ms=members):
                    trio.etcd.restore_quorum(ms)
                    stopped_members.clear()
                faults.append((label, undo))
        elif kind == "agent_cluster":
            c = rng.choice(["dc1", "dc2"])
            agent.cut_cluster(c)
            label = f"{agent.name} cut from {c}"
            faults.append((label, lambda ps=agent.node_proxies[c]: [p.heal() for p in ps]))
        elif kind == "agent_peers":
            mode = rng.choice(["blackhole", "refuse"])
            agent.cut_peers(mode)
            label = f"{agent.name} unreachable by its peers ({mode})"
            faults.append((label, agent.heal_peers))
        elif kind == "cluster_red":
            c = rng.choice([trio.dc1, trio.dc2])
            c.force_red()
            label = f"{c.name} red for everyone"
            faults.append((label, c.heal))
        else:
            r = agent.run.haesctl("failback", "--reason", f"campaign step {step}", timeout=30)
            label = f"operator failback on {agent.name}: exit {r.returncode} {(r.stdout.strip().splitlines() or [''])[0][:80]}"
            rep.count(f"failback exit {r.returncode}")
        rep.count(f"fault {kind}")
        h.mark(label)
        return label

    t_start = time.monotonic()
    for step in range(1, ctx.params["iterations"] + 1):
        while faults and (len(faults) >= 2 or rng.random() < 0.6):
            heal_one(rng.randrange(len(faults)))
        label = add_fault(step)
        hold = rng.uniform(1.0, 4.0)
        rep.line(f"step {step}: {label}; in force: {[f[0] for f in faults]}; for {hold:.1f}s")
        time.sleep(hold)  # the partition's length is the point
    while faults:
        heal_one(len(faults) - 1)
    for name in ("dc1", "dc2"):
        getattr(trio, name).heal()
    h.mark("everything healed")
    try:
        active = wait_for(lambda: _agreed(trio), 60, what="every agent positive for the same cluster")
        rep.line(f"healed: every agent positive for {active}")
    except AssertionError as exc:
        rep.finding("end", f"the agents did not agree again within 60 s of the last heal: {exc}")
    ev = events(trio.agents[0].run)
    rep.counts["failovers"] = sum(1 for e in ev if e["kind"] in ("failover", "forced_failover"))
    rep.counts["failbacks"] = sum(1 for e in ev if e["kind"] == "failback")
    verdict = check_exclusive(trio.sampler.stop(), tolerance=0.0)
    answers = sum(len(h.samples(a.name)) for a in trio.agents)
    rep.counts["samples"] = answers
    rep.counts["handovers"] = len(verdict.handovers)
    if verdict.min_handover_gap is not None:
        rep.figure("min handover gap seconds", verdict.min_handover_gap)
    for ho in verdict.handovers:
        rep.figure("handover gap seconds", ho.gap)
    rep.figure("campaign seconds", time.monotonic() - t_start)
    if not verdict.ok:
        rep.finding("history", verdict.summary()[:4000])
    else:
        rep.line(f"history: no two agents positive for different clusters; {len(verdict.handovers)} handovers, "
                 f"smallest gap {verdict.min_handover_gap}")


def _agreed(trio):
    for c in ("dc1", "dc2"):
        if all(a.positive(c) for a in trio.agents):
            return c
    return None
