"""Verdict histories: what every agent answered, when, and the check that no
two agents ever let traffic into different clusters at the same time.

Samplers poll each agent's verdict from threads at a high rate (every 30 ms
by default) and record one Sample per answer: (agent, cluster, positive,
t_start, t_end) — the answer was true at some instant between the request's
start and the end of the response. Sources:

- the health port: GET /lb/<cluster> for each cluster (200 = positive);
- HAProxy (SPOE): GET / through a frontend; the X-Haes-Cluster response
  header names the cluster the request went to (positive for it).

check_exclusive() fails when two DIFFERENT agents answered positive for two
DIFFERENT clusters at times that overlap or are closer than a tolerance:
"at no instant may two agents answer positive for different clusters". An
agent's consecutive positive answers for a cluster count as one span,
positive from the first answer's start to the last one's end, so a lasting
conflict is caught whatever the phases of the two agents' probes. It reports
the worst overlap, the closest call, and every handover (last positive for X
-> first positive for Y, any agents) with its gap — the price the design
pays for safety. timeline() renders each agent's
answers as state changes with wall-clock times, for failure messages.

Times are time.monotonic() seconds; History converts them to wall-clock
(HH:MM:SS.mmm) and to seconds since the history began (+12.345s).
"""

from __future__ import annotations

import bisect
import heapq
import http.client
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional

from haestest.proc import ProcessGroup


@dataclass(frozen=True)
class Sample:
    agent: str
    cluster: str
    positive: Optional[bool]  # None: no answer (refused, timed out, garbage)
    t_start: float
    t_end: float
    detail: str = ""          # "200 OK dc1 may take traffic (epoch 3)", "503 passive: ...", "timeout"

    @property
    def state(self) -> str:
        return {True: "+", False: "-", None: "?"}[self.positive]


@dataclass(frozen=True)
class Mark:
    t: float
    label: str


class History:
    """Samples and marks (test events: "cut etcd member 0"), thread-safe."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.t0_wall = time.time()
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._marks: list[Mark] = []

    def add(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)

    def extend(self, samples: Iterable[Sample]) -> None:
        with self._lock:
            self._samples.extend(samples)

    def mark(self, label: str, t: Optional[float] = None) -> None:
        """Records a test event; timelines show it among the answers."""
        with self._lock:
            self._marks.append(Mark(time.monotonic() if t is None else t, label))

    def samples(self, agent: Optional[str] = None, cluster: Optional[str] = None) -> list[Sample]:
        with self._lock:
            out = list(self._samples)
        return sorted((s for s in out if (agent is None or s.agent == agent)
                       and (cluster is None or s.cluster == cluster)), key=lambda s: (s.t_start, s.t_end))

    def marks(self) -> list[Mark]:
        with self._lock:
            return sorted(self._marks, key=lambda m: m.t)

    def agents(self) -> list[str]:
        return sorted({s.agent for s in self.samples()})

    def clusters(self) -> list[str]:
        return sorted({s.cluster for s in self.samples()})

    def last(self, agent: str, cluster: str) -> Optional[Sample]:
        s = self.samples(agent, cluster)
        return s[-1] if s else None

    def answering(self, agent: str, cluster: str, positive: Optional[bool] = True,
                  since: Optional[float] = None) -> bool:
        """Whether agent's latest answer for cluster has that state and began
        after `since` (monotonic; e.g. the moment a fault was injected), for
        wait_for(lambda: h.answering("b", "dc2"))."""
        last = self.last(agent, cluster)
        return last is not None and last.positive is positive and (since is None or last.t_start > since)

    # -- time formatting --

    def wall(self, t: float) -> str:
        w = self.t0_wall + (t - self.t0)
        return time.strftime("%H:%M:%S", time.localtime(w)) + f".{int((w % 1) * 1000):03d}"

    def rel(self, t: float) -> str:
        return f"{t - self.t0:+.3f}s"

    def at(self, t: float) -> str:
        return f"{self.wall(t)} ({self.rel(t)})"

    def span(self, s: Sample) -> str:
        return f"[{self.wall(s.t_start)} .. {self.wall(s.t_end)}] ({self.rel(s.t_start)})"


# ---- probes and samplers ---------------------------------------------------------

def _http_get(host: str, port: int, path: str, timeout: float) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def _first_line(body: bytes, limit: int = 120) -> str:
    return body.decode("utf-8", "replace").strip().splitlines()[0][:limit] if body.strip() else ""


def probe_health(agent: str, host: str, port: int, cluster: str, timeout: float = 0.5) -> Sample:
    """One GET /lb/<cluster> on an agent's health port."""
    t0 = time.monotonic()
    try:
        status, _, body = _http_get(host, port, f"/lb/{cluster}", timeout)
    except Exception as e:  # noqa: BLE001 - any failure is "no answer"
        return Sample(agent, cluster, None, t0, time.monotonic(), f"{type(e).__name__}: {e}")
    return Sample(agent, cluster, status == 200, t0, time.monotonic(), f"{status} {_first_line(body)}")


def probe_haproxy(name: str, url: str, timeout: float = 0.5) -> Sample:
    """One request through HAProxy; the X-Haes-Cluster response header names
    the cluster it went to. 200 with the header: positive for that cluster;
    otherwise negative (cluster "*" when the header is missing), with
    X-Haes-Reason in the detail."""
    u = urllib.parse.urlsplit(url)
    t0 = time.monotonic()
    try:
        status, headers, body = _http_get(u.hostname, u.port or 80, u.path or "/", timeout)
    except Exception as e:  # noqa: BLE001
        return Sample(name, "*", None, t0, time.monotonic(), f"{type(e).__name__}: {e}")
    cluster = headers.get("x-haes-cluster", "")
    epoch = headers.get("x-haes-epoch", "")
    detail = f"{status} cluster {cluster or '-'} epoch {epoch or '-'}"
    if headers.get("x-haes-reason"):
        detail += f" reason {headers['x-haes-reason']}"
    return Sample(name, cluster or "*", status == 200 and bool(cluster), t0, time.monotonic(), detail)


class Sampler:
    """Polls verdicts from threads into a History, until stop().

        sampler = Sampler(history, interval=0.03)
        sampler.health("a", "127.0.0.1", agent_a.health_port, ["dc1", "dc2"])
        sampler.haproxy("hap-a", hap.url + "/")
        sampler.start(procs)     # stopped with the test's ProcessGroup too

    One thread per (agent, cluster) for the health port, one per HAProxy
    URL: each probes every `interval` seconds (its next probe starts
    interval after the previous one started, at once if that one was late)."""

    def __init__(self, history: Optional[History] = None, interval: float = 0.03, timeout: float = 0.5):
        self.history = history or History()
        self.interval, self.timeout = interval, timeout
        self._probes: list[tuple[str, callable]] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def health(self, agent: str, host: str, port: int, clusters: Iterable[str]) -> "Sampler":
        for c in clusters:
            self._probes.append((f"{agent}/{c}", lambda a=agent, c=c: probe_health(a, host, port, c, self.timeout)))
        return self

    def haproxy(self, name: str, url: str) -> "Sampler":
        self._probes.append((name, lambda: probe_haproxy(name, url, self.timeout)))
        return self

    def start(self, procs: Optional[ProcessGroup] = None) -> "Sampler":
        if not self._probes:
            raise ValueError("Sampler.start: nothing to sample (call health() or haproxy() first)")
        for label, probe in self._probes:
            t = threading.Thread(target=self._run, args=(probe,), name=f"sampler-{label}", daemon=True)
            t.start()
            self._threads.append(t)
        if procs is not None:
            procs.defer(self.stop)
        return self

    def _run(self, probe) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            self.history.add(probe())
            next_t += self.interval
            now = time.monotonic()
            if next_t < now:
                next_t = now
            self._stop.wait(next_t - now)

    def stop(self) -> History:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.history

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- the check ---------------------------------------------------------------------

def gap(a, b) -> float:
    """Seconds between two intervals (t_start, t_end); negative: they overlap by that much."""
    return max(b.t_start - a.t_end, a.t_start - b.t_end)


@dataclass(frozen=True)
class Span:
    """A run of consecutive positive answers of one agent for one cluster:
    it answered positive at every probe from first to last, so it is taken as
    positive all along [first.t_start, last.t_end]. A negative answer or no
    answer ends the run."""
    first: Sample
    last: Sample
    count: int

    @property
    def agent(self) -> str:
        return self.first.agent

    @property
    def cluster(self) -> str:
        return self.first.cluster

    @property
    def t_start(self) -> float:
        return self.first.t_start

    @property
    def t_end(self) -> float:
        return self.last.t_end


def spans(samples: list) -> list:
    """The positive runs of one agent's answers for one cluster (samples in time order)."""
    out, first, last, n = [], None, None, 0
    for s in samples:
        if s.positive:
            if first is None:
                first, n = s, 0
            last, n = s, n + 1
        elif first is not None:
            out.append(Span(first, last, n))
            first = None
    if first is not None:
        out.append(Span(first, last, n))
    return out


@dataclass(frozen=True)
class Conflict:
    a: Span
    b: Span
    gap: float

    @property
    def t(self) -> float:
        """When the conflict began (both positive, or within the tolerance)."""
        return max(self.a.t_start, self.b.t_start)


@dataclass(frozen=True)
class Handover:
    last: Sample   # the last positive answer for the old cluster (any agent)
    first: Sample  # the first positive answer for the new one (any agent)

    @property
    def gap(self) -> float:
        return self.first.t_start - self.last.t_end


@dataclass
class Verdict:
    ok: bool
    tolerance: float
    history: History
    violations: int = 0                             # pairs of positive runs in conflict
    worst: list = field(default_factory=list)       # the worst conflicts (smallest gap first)
    first_violation: Optional[Conflict] = None      # the earliest conflict
    closest: Optional[Conflict] = None              # the closest cross-agent call, conflict or not
    handovers: list = field(default_factory=list)
    # (agent, cluster) -> (answers, positives, no answers, widest spacing between probes in s)
    sampling: dict = field(default_factory=dict)
    handovers_shown: int = 10

    @property
    def worst_overlap(self) -> float:
        """Seconds of the largest overlap found (0 when none)."""
        return max(0.0, -self.worst[0].gap) if self.worst else 0.0

    @property
    def min_handover_gap(self) -> Optional[float]:
        return min((h.gap for h in self.handovers), default=None)

    def describe_span(self, sp: Span) -> str:
        h = self.history
        if sp.count == 1:
            when = f"during {h.span(sp.first)}"
        else:
            when = (f"from {h.wall(sp.t_start)} to {h.wall(sp.t_end)} ({h.rel(sp.t_start)}, "
                    f"{sp.count} answers)")
        return f"agent {sp.agent} answered {sp.cluster} positive {when} ({sp.first.detail!r})"

    def describe(self, c: Conflict) -> str:
        how = f"overlap {-c.gap * 1000:.1f} ms" if c.gap < 0 else \
            f"gap {c.gap * 1000:.1f} ms < tolerance {self.tolerance * 1000:.1f} ms"
        return f"{self.describe_span(c.a)} and {self.describe_span(c.b)}: {how}"

    def summary(self) -> str:
        h = self.history
        lines = []
        if self.ok:
            lines.append(f"OK: no two agents answered positive for different clusters within "
                         f"{self.tolerance * 1000:.1f} ms of each other.")
        else:
            lines.append(f"VIOLATION: two agents answered positive for different clusters at the same time "
                         f"(or closer than {self.tolerance * 1000:.1f} ms): {self.violations} conflict(s); "
                         f"worst overlap {self.worst_overlap * 1000:.1f} ms.")
            lines.append("  worst:  " + self.describe(self.worst[0]))
            if self.first_violation is not None and self.first_violation != self.worst[0]:
                lines.append("  first:  " + self.describe(self.first_violation))
        if self.closest is not None:
            g = self.closest.gap
            how = f"overlap {-g * 1000:.1f} ms" if g < 0 else f"{g * 1000:.1f} ms apart"
            lines.append(f"closest call between agents: {how} "
                         f"({self.closest.a.agent} {self.closest.a.cluster} / {self.closest.b.agent} "
                         f"{self.closest.b.cluster} at {h.wall(self.closest.t)})")
        if self.handovers:
            g = self.min_handover_gap
            lines.append(f"handovers: {len(self.handovers)}, smallest gap {g * 1000:.1f} ms:")
            for ho in self.handovers[:self.handovers_shown]:
                lines.append(f"  {h.at(ho.last.t_end)}  {ho.last.cluster} -> {ho.first.cluster}: "
                             f"gap {ho.gap * 1000:.1f} ms (last {ho.last.cluster}+ from {ho.last.agent}, "
                             f"first {ho.first.cluster}+ from {ho.first.agent})")
            if len(self.handovers) > self.handovers_shown:
                lines.append(f"  ... {len(self.handovers) - self.handovers_shown} more")
        else:
            lines.append("handovers: none (the positive cluster never changed)")
        for (agent, cluster), (n, pos, err, widest) in sorted(self.sampling.items()):
            lines.append(f"sampled {agent}/{cluster}: {n} answers, {pos} positive, {err} without answer, "
                         f"widest spacing {widest * 1000:.0f} ms")
        return "\n".join(lines)


def _closest_and_conflicts(P: list, Q: list, tol: float, sink) -> Optional[Conflict]:
    """For interval lists P and Q (spans of one agent and cluster each): calls
    sink(conflict) for every pair closer than tol, returns the closest pair."""
    if not P or not Q:
        return None
    P = sorted(P, key=lambda s: s.t_start)
    starts = [p.t_start for p in P]
    by_end = sorted(P, key=lambda s: s.t_end)
    ends = [p.t_end for p in by_end]
    maxlen = max(p.t_end - p.t_start for p in P)
    best: Optional[Conflict] = None
    for q in Q:
        cands = []
        lo = bisect.bisect_left(starts, q.t_start - max(tol, 0.0) - maxlen)
        hi = bisect.bisect_right(starts, q.t_end + max(tol, 0.0))
        for p in P[lo:hi]:
            g = gap(p, q)
            if g < tol:
                sink(Conflict(p, q, g))
            cands.append((g, p))
        i = bisect.bisect_right(ends, q.t_start) - 1
        if i >= 0:
            cands.append((gap(by_end[i], q), by_end[i]))
        j = bisect.bisect_left(starts, q.t_end)
        if j < len(P):
            cands.append((gap(P[j], q), P[j]))
        for g, p in cands:
            if best is None or g < best.gap:
                best = Conflict(p, q, g)
    return best


def _handovers(positives: list) -> list:
    """Runs of positive answers for one cluster (any agent), in time order;
    one Handover per change of cluster between consecutive runs."""
    out = []
    run_cluster, run_last = None, None
    for s in sorted(positives, key=lambda s: (s.t_start, s.t_end)):
        if s.cluster == run_cluster:
            if s.t_end > run_last.t_end:
                run_last = s
            continue
        if run_cluster is not None:
            out.append(Handover(run_last, s))
        run_cluster, run_last = s.cluster, s
    return out


def check_exclusive(history: History, tolerance: float = 0.0, same_agent: bool = False,
                    keep: int = 5) -> Verdict:
    """Checks that no two agents answered positive for different clusters
    at overlapping times or closer than tolerance seconds. Each agent's
    consecutive positive answers for a cluster form one Span (positive all
    along, from the first answer's start to the last one's end), so a
    lasting conflict is found whatever the probes' phases; at the edges
    the answers' own intervals count (an answer was true at some instant
    within its request). same_agent: also check one agent against itself,
    for strict overlaps only (off: its clusters are probed from separate
    threads, so a flip shows a harmless overlap of answers in flight)."""
    samples = history.samples()
    per_key: dict = defaultdict(list)
    for s in samples:
        per_key[(s.agent, s.cluster)].append(s)
    groups, sampling = {}, {}
    for key, ss in per_key.items():
        widest = max((b.t_start - a.t_start for a, b in zip(ss, ss[1:])), default=0.0)
        sampling[key] = (len(ss), sum(1 for s in ss if s.positive), sum(1 for s in ss if s.positive is None),
                         widest)
        runs = spans(ss)
        if runs:
            groups[key] = runs

    worst_heap: list = []  # the `keep` smallest gaps (a max-heap through negation)
    count = 0
    first: Optional[Conflict] = None
    closest: Optional[Conflict] = None
    seq = 0

    def sink(c: Conflict) -> None:
        nonlocal count, first, seq
        count += 1
        seq += 1
        if first is None or c.t < first.t:
            first = c
        heapq.heappush(worst_heap, (-c.gap, seq, c))
        if len(worst_heap) > keep:
            heapq.heappop(worst_heap)

    keys = sorted(groups)
    for i, (agent_a, cluster_a) in enumerate(keys):
        for agent_b, cluster_b in keys[i + 1:]:
            if cluster_a == cluster_b or (agent_a == agent_b and not same_agent):
                continue
            tol = tolerance if agent_a != agent_b else min(tolerance, 0.0)
            c = _closest_and_conflicts(groups[(agent_a, cluster_a)], groups[(agent_b, cluster_b)], tol, sink)
            if c is not None and agent_a != agent_b and (closest is None or c.gap < closest.gap):
                closest = c
    worst = [c for _, _, c in sorted(worst_heap, key=lambda x: (-x[0], x[1]))]
    positives = [s for s in samples if s.positive]
    return Verdict(ok=count == 0, tolerance=tolerance, history=history, violations=count, worst=worst,
                   first_violation=first, closest=closest, handovers=_handovers(positives), sampling=sampling)


def assert_exclusive(history: History, tolerance: float = 0.0, **kw) -> Verdict:
    """check_exclusive(), raising AssertionError with the summary and the
    timeline around the worst conflict when it fails; returns the verdict."""
    v = check_exclusive(history, tolerance, **kw)
    if not v.ok:
        around = v.worst[0].t
        raise AssertionError(v.summary() + "\n\n" + timeline(history, around=around))
    return v


# ---- timelines ---------------------------------------------------------------------

def timeline(history: History, agents: Optional[Iterable[str]] = None, around: Optional[float] = None,
             window: float = 3.0, max_lines: int = 60) -> str:
    """Each agent's answers as state changes (+ positive, - negative,
    ? no answer), with the test's marks among them:

        agent a
          10:00:01.002 (+0.010s)  dc1 +   200 OK dc1 may take traffic (epoch 1)
          10:00:05.100 .. 10:00:05.162 (+4.108s)  dc1 + -> -   503 passive: dc2 is active (epoch 2)

    A change happened between the last answer in the old state (its start)
    and the first in the new one (its end): both times are shown. With
    around (a monotonic time), only changes within window seconds of it."""
    lo, hi = (around - window, around + window) if around is not None else (float("-inf"), float("inf"))
    chosen = list(agents) if agents is not None else history.agents()
    out = []
    marks = [m for m in history.marks() if lo <= m.t <= hi]
    if around is not None:
        out.append(f"timeline around {history.at(around)} (+-{window:g}s)")
    for agent in chosen:
        events = []  # (t, text)
        for cluster in sorted({s.cluster for s in history.samples(agent)}):
            prev = None
            for s in history.samples(agent, cluster):
                if prev is None:
                    events.append((s.t_start, f"{history.at(s.t_start)}  {cluster} {s.state}   {s.detail}"))
                elif s.state != prev.state:
                    events.append((s.t_end, f"{history.wall(prev.t_start)} .. {history.wall(s.t_end)} "
                                            f"({history.rel(s.t_end)})  {cluster} {prev.state} -> {s.state}   "
                                            f"{s.detail}"))
                prev = s
            if prev is not None:
                events.append((prev.t_end, f"{history.at(prev.t_end)}  {cluster} {prev.state} (last answer)"))
        in_window = [(t, text) for t, text in events if lo <= t <= hi]
        if around is not None:
            # The state each cluster was in when the window opened.
            for cluster in sorted({s.cluster for s in history.samples(agent)}):
                before = [s for s in history.samples(agent, cluster) if s.t_end < lo]
                if before:
                    s = before[-1]
                    in_window.append((lo, f"{history.at(s.t_end)}  {cluster} {s.state}   (state at window start)"))
        in_window += [(m.t, f"{history.at(m.t)}  ** {m.label}") for m in marks]
        in_window.sort(key=lambda e: e[0])
        n = sum(1 for s in history.samples(agent))
        out.append(f"agent {agent} ({n} answers)")
        if len(in_window) > max_lines:
            half = max_lines // 2
            skipped = len(in_window) - 2 * half
            in_window = in_window[:half] + [(0, f"... {skipped} changes left out ...")] + in_window[-half:]
        out.extend("  " + text for _, text in in_window)
    return "\n".join(out)
