"""Campaign `kill`: SIGKILL the agent N times at random moments, restart it,
and check what it kept.

Bed (haestest.bed.Bed): dc1 and dc2 (essim, 2 nodes each, one snapshot
repository root), one agent with sync configured (`orders*`, interval 1h:
syncs run when the campaign asks, plus the one each start schedules), HAProxy
in front, and a writer putting documents through HAProxy all along. Both
clusters copy snapshots slowly, so snapshots and restores last seconds and a
kill lands inside them.

Each iteration picks a moment and kills the agent there (kill -9 of its
process group), after a random delay in the moment's window:
- failover: the active cluster turns red; kill while the agent counts bad
  rounds or writes the new epoch;
- sync: `haesctl sync now`; kill during the snapshot, the close, the restore;
- switchover: `haesctl switchover --to <passive>`; kill during the write
  block, the final snapshot and restore, the role switch;
- command: pause/resume, sync hold/release, failover --to, ack; kill within
  a few milliseconds of the command.

After each restart:
1. the stored state is one of the two committed ones (before or after the
   move), the one after if the command's reply said done, and it agrees
   with the journal's last role change (its epoch);
2. the active cluster's synced indices are not write-blocked (unless
   status says a switchover's marker stands), no index of either cluster is
   left closed once a sync has succeeded, and writes through HAProxy are
   acknowledged again;
3. work left running in Elasticsearch (the restore the killed agent
   started) is recognised: the next syncs succeed within a bound, and none
   fails with Elasticsearch's raw "Cannot close indices that are being
   restored";
4. every write HAProxy acknowledged is on the active cluster, except those
   a failover lost by design: acknowledged by the old active cluster after
   the start of its last sync point (the RPO, docs/sync.md).
"""

from __future__ import annotations

import datetime
import threading
import time

from haestest.bed import Bed
from haestest.essim import http
from haestest.proc import wait_for

from common import Ctx, Writer, events, status, wait_status

INTERVAL, TIMEOUT, THRESHOLD = 0.4, 0.3, 3
RTO_BOUND = THRESHOLD * INTERVAL + 1.0
RAW_RESTORE_ERROR = "Cannot close indices that are being restored"
SNAPSHOT_SPEED = 250_000  # bytes/s: ~0.7 MB of orders -> a restore copies for ~3 s (snapshots are incremental)

SCENARIOS = ["failover", "sync", "switchover", "command"]
COMMANDS = ["pause", "resume", "sync hold", "sync release", "failover", "ack"]


def parse_time(text: str) -> float:
    """format_time(): 2026-12-02T03:12:55.123Z -> Unix seconds."""
    if not text or text == "never":
        return 0.0
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def other(c: str) -> str:
    return "dc2" if c == "dc1" else "dc1"


def roles(s: dict) -> tuple:
    return (s["epoch"], s["active"], tuple(s["fenced"]), s["paused"], s["sync"]["held"])


class KillBed:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        extra = {"failover": {"interval": f"{int(INTERVAL * 1000)}ms", "timeout": f"{int(TIMEOUT * 1000)}ms",
                              "fail_threshold": THRESHOLD, "hold_down": "0s"},
                 "sync": {"interval": "1h", "indices": ["orders*"], "timeout": "2m",
                          "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
                          "retention": {"keep": 3}},
                 "log": {"level": "info"}}
        self.bed = Bed.start(ctx.procs, ctx.workdir, nodes=2, agent_extra=extra)
        self.agent, self.hap = self.bed.agent, self.bed.hap
        self.hap.wait_servers("es_dc1", "UP")
        s, out = http("PUT", self.hap.url + "/orders",
                      {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
        assert s == 200, (s, out)
        self.bed.dc1.bulk_index("orders", {f"pad{i}": {"pad": "x" * 2000} for i in range(350)})
        for c in (self.bed.dc1, self.bed.dc2):
            c.set_snapshot_speed(SNAPSHOT_SPEED)
        self.sync_until_ok(120)
        # ~10 writes/s: every restore copies the whole index, so a faster writer
        # makes a 100-kill run slower with each iteration.
        self.writer = Writer(self.hap, pause=0.1).start()
        self.written_off: set = set()   # lost by a failover, inside the documented RPO
        self.kills = 0

    def cluster(self, name: str):
        return self.bed.cluster(name)

    def sync_until_ok(self, timeout: float) -> list:
        """`sync now` until one succeeds; returns the failures' replies."""
        failures = []

        def once():
            r = self.agent.haesctl("sync", "now", timeout=120)
            if r.returncode == 0:
                return True
            failures.append((r.stdout + r.stderr).strip())
            return False
        wait_for(once, timeout, interval=0.5, what="a successful sync")
        return failures

    def kill_restart(self) -> None:
        self.agent.proc.kill9()
        self.kills += 1
        self.agent.start(self.ctx.procs)

    def wait_idle(self, timeout: float = 60) -> dict:
        """The agent's own start-up sync has run and nothing is running."""
        return wait_status(self.agent, lambda s: s["sync"]["running"] == "" and s["health_round"] >= 1 and (
            s["sync"]["last_result"] != "" or s["sync"]["held"]),  # held: the start-up sync is skipped
            timeout, what="the agent idle after its start-up sync")

    def docs_on(self, cluster: str) -> set:
        c = self.cluster(cluster)
        out = c.ok("GET", "/orders/_search?size=1000000")
        return {h["_id"] for h in out["hits"]["hits"]}


def run(ctx: Ctx) -> None:
    rep, rng = ctx.report, ctx.rng
    kb = KillBed(ctx)
    a = kb.agent
    rep.line(f"bed up: sync configured, snapshots at {SNAPSHOT_SPEED} B/s; interval {INTERVAL}s "
             f"fail_threshold {THRESHOLD}")
    for i in range(1, ctx.params["iterations"] + 1):
        try:
            one(kb, i, rng)
        except AssertionError as exc:
            rep.finding(i, f"the bed could not recover: {exc}")
            break
    kb.writer.stop()
    rep.counts["kills"] = kb.kills
    rep.counts["writes acknowledged"] = len(kb.writer.acked)
    rep.counts["writes refused or cut"] = kb.writer.refused
    rep.counts["writes lost inside the RPO (failovers)"] = len(kb.written_off)
    rep.line(f"done: {kb.kills} kills, {len(kb.writer.acked)} writes acknowledged, "
             f"{len(kb.written_off)} lost inside the RPO")
    _ = a


def one(kb: KillBed, i: int, rng) -> None:
    rep, a = kb.ctx.report, kb.agent
    before = status(a)
    seq0 = max((e["seq"] for e in events(a, 50)), default=0)
    A = before["active"]
    B = other(A)
    scenario = rng.choice(SCENARIOS)
    result: dict = {}
    expect_after: tuple
    cmd = None
    if scenario == "failover":
        delay = rng.uniform(0, RTO_BOUND + 0.5)
        expect_after = (before["epoch"] + 1, B, (A,), before["paused"], before["sync"]["held"])
        kb.cluster(A).force_red()
        time.sleep(delay)  # the random moment of the kill is the point
        a.proc.kill9()
        kb.kills += 1
        kb.cluster(A).heal()
        a.start(kb.ctx.procs)
        what = f"failover ({A} red), kill after {delay:.2f}s"
    else:
        if scenario == "sync":
            cmd, window = ["sync", "now"], 4.5
            expect_after = roles(before)
        elif scenario == "switchover":
            cmd, window = ["switchover", "--to", B, "--reason", f"campaign {i}"], 5.5
            expect_after = (before["epoch"] + 1, B, (), before["paused"], before["sync"]["held"])
        else:
            c = rng.choice(COMMANDS)
            window = 0.05
            if c == "pause":
                cmd, expect_after = ["pause", "--reason", f"campaign {i}"], roles(before)[:3] + (True, before["sync"]["held"])
            elif c == "resume":
                cmd, expect_after = ["resume"], roles(before)[:3] + (False, before["sync"]["held"])
            elif c == "sync hold":
                cmd, expect_after = ["sync", "hold", "--reason", f"campaign {i}"], roles(before)[:4] + (True,)
            elif c == "sync release":
                cmd, expect_after = ["sync", "release"], roles(before)[:4] + (False,)
            elif c == "failover":
                cmd = ["failover", "--to", B, "--reason", f"campaign {i}"]
                expect_after = (before["epoch"] + 1, B, (A,), before["paused"], before["sync"]["held"])
            else:
                cmd, expect_after = ["ack"], roles(before)
        delay = rng.uniform(0, window)
        t = threading.Thread(target=lambda: result.setdefault("r", a.haesctl(*cmd, timeout=120)), daemon=True)
        t.start()
        time.sleep(delay)  # the random moment of the kill is the point
        a.proc.kill9()
        kb.kills += 1
        t.join(30)
        a.start(kb.ctx.procs)
        what = f"{' '.join(cmd[:3] if cmd[0] != 'pause' else cmd[:1])}, kill after {delay:.3f}s"
    rep.count(f"kill mid-{scenario}")
    after = status(a)
    got = roles(after)
    replied = result.get("r")
    done = replied is not None and replied.returncode == 0
    ok_states = {roles(before), expect_after}
    if got not in ok_states:
        rep.finding(i, f"{what}: state after restart {got} is neither the one before {roles(before)} "
                       f"nor the one after {expect_after}")
    elif done and got != expect_after:
        rep.finding(i, f"{what}: the command replied done ({replied.stdout.strip()[:200]!r}) but the restarted "
                       f"agent has {got}, not {expect_after}")
    # The journal's last role change names the epoch the state holds.
    moves = [e for e in events(a) if e["kind"] in ("failover", "forced_failover", "switchover", "switchover_sync",
                                                    "failback")]
    if moves and moves[-1]["epoch"] > after["epoch"]:
        rep.finding(i, f"{what}: the journal records {moves[-1]['kind']} to epoch {moves[-1]['epoch']} but the "
                       f"state holds epoch {after['epoch']}")
    moved = after["active"] != A
    failed_over = moved and tuple(after["fenced"]) == (A,)
    if failed_over:
        # Writes acknowledged by A after its last sync point are the RPO.
        sp = after["sync"]
        since = parse_time(sp["started_at"]) if sp["source"] == A else parse_time(before["sync"]["started_at"])
        lost = {d for d, (t, c) in kb.writer.snapshot().items() if c == A and t >= since - 0.05}
        kb.written_off |= lost
    # 2. writes through HAProxy are acknowledged again (no write block left on the active cluster).
    n0 = len(kb.writer.acked)
    try:
        wait_for(lambda: len(kb.writer.acked) >= n0 + 3, 20, what="writes acknowledged through HAProxy")
    except AssertionError:
        s = status(a)
        rep.finding(i, f"{what}: no write acknowledged through HAProxy for 20 s after the restart "
                       f"(active {s['active']}, writes_blocked {s['sync']['writes_blocked']!r})")
    active = status(a)["active"]
    settings = kb.cluster(active).ok("GET", "/orders/_settings")
    blocked = settings["orders"]["settings"]["index"].get("blocks", {}).get("write") in ("true", True)
    if blocked:
        rep.finding(i, f"{what}: orders on the active cluster {active} is still write-blocked after the restart")
    # 3. leftovers in Elasticsearch: the next syncs must get through them, and say so plainly.
    kb.wait_idle()
    if status(a)["sync"]["held"]:
        a.haesctl("sync", "release")
    if status(a)["paused"]:
        a.haesctl("resume")
    t0 = time.monotonic()
    try:
        failures = kb.sync_until_ok(60)
    except AssertionError as exc:
        rep.finding(i, f"{what}: no sync succeeded within 60 s of the restart: {exc}")
        failures = []
    rep.figure("seconds to the first good sync after the restart", time.monotonic() - t0)
    # The journal has every failed sync since the kill (the restarted
    # agent's own start-up sync too), not only the ones asked for here.
    journaled = [e["message"] for e in events(a, 200) if e["seq"] > seq0 and e["kind"] == "sync_failed"]
    raw = [f for f in failures + journaled if RAW_RESTORE_ERROR in f]
    if raw:
        rep.finding(i, f"{what}: {len(raw)} sync(s) failed with Elasticsearch's raw error instead of recognising "
                       f"the restore the killed agent left running: {raw[0][:300]}")
    if journaled:
        rep.count("syncs failed (journal) after a restart before one succeeded", len(journaled))
    for name in ("dc1", "dc2"):
        closed = [r["index"] for r in kb.cluster(name).ok("GET", "/_cat/indices?format=json")
                  if r.get("status") != "open"]
        if closed:
            rep.finding(i, f"{what}: index(es) {closed} left closed on {name} after a successful sync")
    # Bring a fenced cluster back (a planned switchover: lossless) so the next failover has a target.
    s = status(a)
    if s["fenced"]:
        r = a.haesctl("switchover", "--to", s["fenced"][0], "--reason", "campaign: unfence", timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"switchover back to {s['fenced'][0]} refused: {r.stdout}")
    # 4. every acknowledged write is on the active cluster, except inside the RPO.
    active = status(a)["active"]
    acked = kb.writer.snapshot()
    on = kb.docs_on(active)
    missing = sorted(d for d in acked if d not in on and d not in kb.written_off)
    # A write acknowledged in the last instant may not be visible yet to this read: ask again.
    if missing:
        def still_missing():
            on = kb.docs_on(status(a)["active"])
            return sorted(d for d in missing if d not in on)
        try:
            wait_for(lambda: not still_missing(), 2, interval=0.2, what="the last acknowledged writes visible")
            missing = []
        except AssertionError:
            missing = still_missing()
    if missing:
        detail = ", ".join(f"{d} (acked {acked[d][0]:.3f} by {acked[d][1]})" for d in missing[:5])
        rep.finding(i, f"{what}: {len(missing)} acknowledged write(s) missing from the active cluster "
                       f"{active} outside the RPO: {detail}")
    rep.line(f"kill {i}: {what}: {'done' if done else 'not replied'} -> epoch {after['epoch']} active "
             f"{after['active']}; {len(journaled)} failed sync(s) before a good one; "
             f"{len(acked)} acked, {len(kb.written_off)} inside the RPO")
