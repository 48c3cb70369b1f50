#!/usr/bin/python3
"""The soak (docs/reliability.md "Soak"): N minutes of traffic through
HAProxy with a failover, a failback and a switchover in turn every few
minutes, the agent's RSS and open descriptors sampled every few seconds.

    nice /usr/bin/python3 tests/campaign/soak.py [--minutes 30] [--period 120] [--sample 5]
                                                 [--svg docs/soak-rss.svg] [--report FILE]

Needs the build tree (scripts/build.sh haes-agent haesctl), Debian's haproxy
and python3. Bed: dc1 and dc2 (essim, 2 nodes each), one agent with sync
configured, HAProxy in front; two readers (GET /) and one writer (PUT
/orders/_doc) through HAProxy all along, every answer recorded.

Every `--period` seconds, in turn:
- failover: the active cluster turns red (essim), the agent fails over;
  the red cluster is healed once traffic moved;
- failback: `haesctl failback` (a planned move to the preferred cluster,
  with its final sync);
- switchover: `haesctl switchover --to <passive>`.
A failback due while the preferred cluster is already active (every other
round: three moves flip the roles an odd number of times) is a switchover.
Each move opens an RTO window: from the fault or the command until traffic
is on the new cluster (or the command returned), plus `--grace` seconds.

Checks (each failure is a finding, exit 1):
- no error (a refused, failed or cut request) outside the RTO windows;
- RSS and descriptors flat: the least-squares slope over the second half of
  the run, times the run's length, below 8 MiB and 8 descriptors;
- the journal bounded: never more events than twice state.journal_size (the
  local store compacts it to journal_size when it doubles);
- the agent never restarted or died, every move happened.
The report gives the error counts inside and outside the windows, the
slopes, the samples; --svg writes the RSS/descriptor plot (hand-written SVG,
no plotting library).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, events, status, wait_status  # noqa: E402
from haestest.bed import Bed  # noqa: E402
from haestest.essim import http  # noqa: E402
from haestest.proc import ProcessGroup, holds_for, wait_for  # noqa: E402

INTERVAL, TIMEOUT, THRESHOLD = 0.5, 0.4, 3
JOURNAL_SIZE = 10  # the smallest allowed: about two events a move fill it within the first rounds
RSS_GROWTH_BOUND_KIB = 8 * 1024
FD_GROWTH_BOUND = 8


def alive_for(agent, seconds: float):
    """Traffic runs meanwhile; the agent must stay alive all along."""
    if seconds > 0:
        holds_for(agent.proc.alive, seconds, interval=0.5, what="the agent alive (its log is in the workdir)")


def other(c: str) -> str:
    return "dc2" if c == "dc1" else "dc1"


def rss_kib(pid: int) -> int:
    m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope(points: list) -> float:
    """Least-squares slope of (x, y) points; 0 with fewer than two."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


class Traffic:
    """Readers and a writer through HAProxy, each answer kept as (t, ok, what)."""

    def __init__(self, hap, readers: int = 2, pause: float = 0.05):
        self.hap, self.pause = hap, pause
        self.results: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._n = 0
        self.threads = [threading.Thread(target=self._read, daemon=True) for _ in range(readers)]
        self.threads.append(threading.Thread(target=self._write, daemon=True))

    def start(self) -> "Traffic":
        for t in self.threads:
            t.start()
        return self

    def _record(self, ok: bool, what: str) -> None:
        with self._lock:
            self.results.append((time.monotonic(), ok, what))

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                r = self.hap.get("/", timeout=5)
                self._record(r.status == 200, f"GET {r.status} {r.header('X-Haes-Reason') or ''}".strip())
            except Exception as exc:  # noqa: BLE001 - a cut request is an error to count
                self._record(False, f"GET {type(exc).__name__}")
            self._stop.wait(self.pause)

    def _write(self) -> None:
        while not self._stop.is_set():
            self._n += 1
            try:
                r = self.hap.request("PUT", f"/orders/_doc/s{self._n}", {"n": self._n}, timeout=5)
                self._record(r.status in (200, 201), f"PUT {r.status}")
            except Exception as exc:  # noqa: BLE001
                self._record(False, f"PUT {type(exc).__name__}")
            self._stop.wait(self.pause * 2)

    def stop(self) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(10)


class Sampler:
    """RSS, descriptors and journal length of the agent every `every` seconds."""

    def __init__(self, agent, every: float):
        self.agent, self.every = agent, every
        self.samples: list = []  # (t, rss KiB, fds, journal events)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Sampler":
        self.thread.start()
        return self

    def _run(self) -> None:
        pid = self.agent.proc.popen.pid
        while not self._stop.is_set():
            try:
                journal = len(events(self.agent, 100_000))
                self.samples.append((time.monotonic(), rss_kib(pid), fd_count(pid), journal))
            except (OSError, AssertionError):
                pass  # the agent busy or gone: the run's checks say so
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)


def write_svg(path: Path, samples: list, moves: list, t0: float, title: str) -> None:
    """Two panels (RSS in MiB, open descriptors) over minutes, moves as
    vertical lines; plain SVG written here."""
    w, h, left, right, top, gap, ph = 760, 420, 70, 20, 40, 50, 140
    xs = [(t - t0) / 60 for t, *_ in samples] or [0.0]
    xmax = max(max(xs), 1e-3)
    panels = [("RSS (MiB)", [r / 1024 for _, r, _, _ in samples], "#1f77b4"),
              ("open descriptors", [f for _, _, f, _ in samples], "#d62728")]
    colors = {"failover": "#d62728", "failback": "#2ca02c", "switchover": "#9467bd"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           'font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>']
    for i, (label, ys, color) in enumerate(panels):
        y0 = top + i * (ph + gap)
        ys = ys or [0.0]
        lo, hi = min(ys), max(ys)
        pad = max((hi - lo) * 0.2, 1.0 if i else 0.5)
        lo, hi = max(0.0, lo - pad), hi + pad

        def px(x):
            return left + (w - left - right) * x / xmax

        def py(y, lo=lo, hi=hi, y0=y0):
            return y0 + ph - ph * (y - lo) / (hi - lo)
        out.append(f'<rect x="{left}" y="{y0}" width="{w - left - right}" height="{ph}" fill="none" stroke="#999"/>')
        for k in range(5):
            v = lo + (hi - lo) * k / 4
            out.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
            out.append(f'<line x1="{left}" x2="{w - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="14" y="{y0 + ph / 2}" transform="rotate(-90 14 {y0 + ph / 2})" '
                   f'text-anchor="middle">{label}</text>')
        for kind, start, _ in moves:
            x = px((start - t0) / 60)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + ph}" stroke="{colors[kind]}" '
                       'stroke-dasharray="3,3" stroke-width="0.8"/>')
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        for k in range(6):
            m = xmax * k / 5
            out.append(f'<text x="{px(m):.1f}" y="{y0 + ph + 14}" text-anchor="middle">{m:.1f}</text>')
    out.append(f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">minutes (dashed: '
               '<tspan fill="#d62728">failover</tspan>, <tspan fill="#2ca02c">failback</tspan>, '
               '<tspan fill="#9467bd">switchover</tspan>)</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def run(procs: ProcessGroup, workdir: Path, report: Report, minutes: float, period: float, sample: float,
        grace: float, svg: Path | None) -> None:
    extra = {"failover": {"interval": f"{int(INTERVAL * 1000)}ms", "timeout": f"{int(TIMEOUT * 1000)}ms",
                          "fail_threshold": THRESHOLD, "hold_down": "0s"},
             "sync": {"interval": "1h", "indices": ["orders*"], "timeout": "2m",
                      "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
                      "retention": {"keep": 3}},
             "state": {"journal_size": JOURNAL_SIZE},
             "log": {"level": "info"}}
    bed = Bed.start(procs, workdir, nodes=2, agent_extra=extra)
    agent, hap = bed.agent, bed.hap
    hap.wait_servers("es_dc1", "UP")
    s, out = http("PUT", hap.url + "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert s == 200, (s, out)
    wait_status(agent, lambda st: st["sync"]["running"] == "", 60, what="the start-up sync over")
    r = agent.haesctl("sync", "now", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    pid = agent.proc.popen.pid
    report.line(f"bed up: agent pid {pid}, interval {INTERVAL}s x {THRESHOLD}, journal_size {JOURNAL_SIZE}; "
                f"{minutes} min, a move every {period} s")
    traffic = Traffic(hap).start()
    sampler = Sampler(agent, sample).start()
    t0 = time.monotonic()
    end = t0 + minutes * 60
    moves: list = []  # (kind, start, end of its window)
    kinds = ["failover", "failback", "switchover"]
    k = 0
    try:
        while time.monotonic() + period <= end + 1:
            next_at = t0 + (k + 1) * period
            alive_for(agent, min(next_at, end) - time.monotonic())
            if time.monotonic() >= end:
                break
            kind = kinds[k % 3]
            k += 1
            before = status(agent)
            active = before["active"]
            start = time.monotonic()
            if kind == "failover":
                bed.cluster(active).force_red()
                wait_for(lambda a=active: bed.served_by(3) == {other(a)}, 30, what=f"traffic on {other(active)}")
                done = time.monotonic()
                bed.cluster(active).heal()
                wait_status(agent, lambda st, a=active: all(c["health"] == "green" for c in st["clusters"]), 30,
                            what=f"{active} green again")
            else:
                args = ("failback",) if kind == "failback" else ("switchover", "--to", other(active))
                if kind == "failback" and active == before.get("preferred", "dc1"):
                    args = ("switchover", "--to", other(active))  # already home: a switchover instead
                    kind = "switchover"
                res = agent.haesctl(*args, timeout=180)
                done = time.monotonic()
                if res.returncode != 0:
                    report.finding(k, f"{' '.join(args)} failed: {res.stdout} {res.stderr}")
                else:
                    wait_for(lambda a=active: bed.served_by(3) == {other(a)}, 30,
                             what=f"traffic on {other(active)}")
                    done = time.monotonic()
            moves.append((kind, start, done + grace))
            report.count(kind)
            report.figure(f"{kind} window s", done - start)
            report.line(f"move {k}: {kind} from {active}: {done - start:.2f} s")
        alive_for(agent, end - time.monotonic())  # traffic and samples until the end, after the last move that fit
    finally:
        traffic.stop()
        sampler.stop()
    duration = time.monotonic() - t0

    # Errors inside and outside the moves' windows.
    inside = outside = 0
    outside_examples = []
    for t, ok, what in traffic.results:
        if ok:
            continue
        if any(s0 <= t <= s1 for _, s0, s1 in moves):
            inside += 1
        else:
            outside += 1
            if len(outside_examples) < 10:
                outside_examples.append(f"{t - t0:.1f}s {what}")
    report.counts["requests"] = len(traffic.results)
    report.counts["errors inside RTO windows"] = inside
    report.counts["errors outside RTO windows"] = outside
    if outside:
        report.finding("errors", f"{outside} error(s) outside the RTO windows: {outside_examples}")

    # Flat RSS and descriptors: slope over the second half (after warm-up).
    samples = sampler.samples
    half = [x for x in samples if x[0] >= t0 + duration / 2]
    rss_slope = slope([(t / 60, r) for t, r, _, _ in half])      # KiB per minute
    fd_slope = slope([(t / 60, f) for t, _, f, _ in half])       # descriptors per minute
    rss_growth, fd_growth = rss_slope * duration / 60, fd_slope * duration / 60
    report.figures["rss KiB"] = [r for _, r, _, _ in samples]
    report.figures["fds"] = [f for _, _, f, _ in samples]
    report.counts["samples"] = len(samples)
    report.counts["rss slope KiB/min (second half)"] = round(rss_slope, 2)
    report.counts["fd slope per min (second half)"] = round(fd_slope, 3)
    report.counts["journal events max"] = max((j for *_, j in samples), default=0)
    if len(half) >= 3 and rss_growth > RSS_GROWTH_BOUND_KIB:
        report.finding("rss", f"RSS grows {rss_slope:.1f} KiB/min ({rss_growth / 1024:.1f} MiB over the run)")
    if len(half) >= 3 and fd_growth > FD_GROWTH_BOUND:
        report.finding("fds", f"descriptors grow {fd_slope:.2f}/min ({fd_growth:.1f} over the run)")
    # The local store compacts its journal to journal_size when it doubles (docs/state-store.md).
    if report.counts["journal events max"] > 2 * JOURNAL_SIZE:
        report.finding("journal", f"{report.counts['journal events max']} events kept, journal_size {JOURNAL_SIZE} "
                       "(compacted when it doubles)")
    if agent.proc.popen.pid != pid or not agent.proc.alive():
        report.finding("agent", "the agent died or was restarted")
    if not moves:
        report.finding("moves", "no move happened: --minutes too short for --period")
    starts = [e for e in events(agent, 100_000) if e.get("kind") == "start"]
    if len(starts) > 1:
        report.finding("agent", f"{len(starts)} start events in the journal")
    if svg:
        title = (f"haes soak: {duration / 60:.0f} min, {len(moves)} moves, RSS slope {rss_slope:.1f} KiB/min, "
                 f"fd slope {fd_slope:.2f}/min")
        write_svg(svg, samples, moves, t0, title)
        report.line(f"plot: {svg}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="length of the soak (default 30)")
    ap.add_argument("--period", type=float, default=120.0, help="seconds between moves (default 120)")
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between RSS/fd samples (default 5)")
    ap.add_argument("--grace", type=float, default=1.0, help="seconds added to each RTO window (default 1)")
    ap.add_argument("--svg", type=Path, default=None, help="write the RSS/fd plot here (e.g. docs/soak-rss.svg)")
    ap.add_argument("--workdir", type=Path, default=None, help="logs and data (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir")
    ap.add_argument("--report", type=Path, default=None, help="write the report as JSON here")
    a = ap.parse_args(argv)
    if a.minutes <= 0 or a.period <= 0 or a.sample <= 0:
        ap.error("--minutes, --period and --sample must be positive")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="haes-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = soak(workdir, a.minutes, a.period, a.sample, a.grace, a.svg)
    print("\n" + summary(report), flush=True)
    if a.report:
        a.report.write_text(json.dumps(report.to_json(), indent=1) + "\n")
    if not a.keep and a.workdir is None and report.ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs: {workdir}")
    print(f"{'OK' if report.ok else 'FAILED'}: soak, {a.minutes} min")
    return 0 if report.ok else 1


def summary(report: Report) -> str:
    """Counts, figures (without the per-sample lists: those are in the SVG and JSON) and findings."""
    out = [f"soak: {json.dumps(report.params, sort_keys=True)}",
           f"replay: nice /usr/bin/python3 tests/campaign/soak.py --minutes {report.params['minutes']} "
           f"--period {report.params['period']} --sample {report.params['sample']}",
           f"wall time: {time.monotonic() - report.started:.0f} s"]
    for k, v in sorted(report.counts.items()):
        out.append(f"  {k}: {v}")
    for k, vs in sorted(report.figures.items()):
        if vs and k not in ("rss KiB", "fds"):
            s = sorted(vs)
            out.append(f"  {k}: n={len(s)} min={s[0]:.2f} median={s[len(s) // 2]:.2f} max={s[-1]:.2f}")
    rss, fds = report.figures.get("rss KiB", []), report.figures.get("fds", [])
    if rss:
        out.append(f"  RSS KiB: first {rss[0]}, last {rss[-1]}, min {min(rss)}, max {max(rss)}")
        out.append(f"  fds: first {fds[0]}, last {fds[-1]}, min {min(fds)}, max {max(fds)}")
    out.append(f"findings: {len(report.findings)}")
    for f in report.findings:
        out.append(f"  {f['iteration']}: {f['text']}")
    return "\n".join(out)


def soak(workdir: Path, minutes: float, period: float, sample: float, grace: float = 1.0,
         svg: Path | None = None) -> Report:
    """Runs the soak in workdir; returns its report (a failed check is a finding, never an exception)."""
    report = Report("soak", 0, {"minutes": minutes, "period": period, "sample": sample})
    procs = ProcessGroup(workdir / "procs")
    try:
        run(procs, workdir, report, minutes, period, sample, grace, svg)
    except KeyboardInterrupt:
        report.findings.append({"iteration": "interrupted", "text": "the soak did not run to its end"})
    except Exception as exc:  # noqa: BLE001 - the report says where and why
        import traceback
        report.finding("abort", f"{type(exc).__name__}: {exc}\n" + traceback.format_exc()[-3000:])
    finally:
        if report.findings:
            print(procs.dump_logs(tail=40), flush=True)
        procs.close()
    return report


if __name__ == "__main__":
    sys.exit(main())
