"""What the three campaigns share: the seeded random source, the report
(figures and findings), and the agent/HAProxy helpers built on
tests/lib/haestest (imported, never copied).

A campaign is a function run(ctx) -> None that records what it did in
ctx.report; the runner (campaign.py) and the short ctest versions
(test_*.py) both call it. Every random choice comes from ctx.rng, seeded by
the printed seed: the same seed replays the same schedule of faults (kinds,
targets, durations, kill delays). What the OS scheduler does with it is not
replayable; the report says what happened each time.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from haestest.proc import ProcessGroup, wait_for  # noqa: E402


def new_seed() -> int:
    return random.SystemRandom().randrange(1, 2**31)


@dataclass
class Report:
    campaign: str
    seed: int
    params: dict
    started: float = field(default_factory=time.monotonic)
    counts: dict = field(default_factory=dict)      # what was done, by kind
    figures: dict = field(default_factory=dict)     # measured numbers (lists of samples)
    findings: list = field(default_factory=list)    # failed checks: (iteration, text)
    notes: list = field(default_factory=list)       # what could not be done, and why
    log: list = field(default_factory=list)         # one line per iteration

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def figure(self, key: str, value: float) -> None:
        self.figures.setdefault(key, []).append(value)

    def line(self, text: str) -> None:
        stamp = f"[{time.monotonic() - self.started:7.1f}s]"
        self.log.append(f"{stamp} {text}")
        print(f"{stamp} {text}", flush=True)

    def finding(self, iteration, text: str) -> None:
        self.findings.append({"iteration": iteration, "text": text})
        self.line(f"FINDING (iteration {iteration}): {text}")

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.line(f"NOTE: {text}")

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        out = [f"campaign {self.campaign}: seed {self.seed}, {json.dumps(self.params, sort_keys=True)}",
               f"replay: /usr/bin/python3 tests/campaign/campaign.py {self.campaign} --seed {self.seed} "
               + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in sorted(self.params.items())),
               f"wall time: {time.monotonic() - self.started:.0f} s"]
        for k, v in sorted(self.counts.items()):
            out.append(f"  {k}: {v}")
        for k, vs in sorted(self.figures.items()):
            if vs:
                s = sorted(vs)
                out.append(f"  {k}: n={len(s)} min={s[0]:.3f} median={s[len(s) // 2]:.3f} "
                           f"p90={s[min(len(s) - 1, int(len(s) * 0.9))]:.3f} max={s[-1]:.3f}")
        for n in self.notes:
            out.append(f"  note: {n}")
        out.append(f"findings: {len(self.findings)}")
        for f in self.findings:
            out.append(f"  iteration {f['iteration']}: {f['text']}")
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"campaign": self.campaign, "seed": self.seed, "params": self.params,
                "wall_seconds": round(time.monotonic() - self.started, 1), "counts": self.counts,
                "figures": self.figures, "findings": self.findings, "notes": self.notes}


@dataclass
class Ctx:
    procs: ProcessGroup
    workdir: Path
    rng: random.Random
    report: Report
    params: dict


class Writer:
    """Writes documents through HAProxy from a thread, one PUT per document
    (refresh=true), and remembers every acknowledged one: id, when it was
    acknowledged (time.time(), to compare with the agent's sync times) and
    the cluster HAProxy sent it to (X-Haes-Cluster)."""

    def __init__(self, hap, index: str = "orders", pause: float = 0.02):
        self.hap, self.index, self.pause = hap, index, pause
        self.acked: dict[str, tuple[float, str]] = {}
        self.refused = 0
        self._n = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def start(self) -> "Writer":
        self._thread = threading.Thread(target=self._run, daemon=True, name="campaign-writer")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._n += 1
            doc = f"w{self._n}"
            try:
                r = self.hap.request("PUT", f"/{self.index}/_doc/{doc}?refresh=true", {"n": self._n}, timeout=5)
                if r.status in (200, 201):
                    with self._lock:
                        self.acked[doc] = (time.time(), r.header("X-Haes-Cluster") or "?")
                else:
                    self.refused += 1
            except Exception:  # noqa: BLE001 - a refused or cut request is simply not acknowledged
                self.refused += 1
            self._stop.wait(self.pause)

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self.acked)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)


def status(run) -> dict:
    r = run.haesctl("status", "--json", timeout=15)
    if r.returncode != 0:
        raise AssertionError(f"haesctl status: exit {r.returncode}: {r.stdout} {r.stderr}")
    return json.loads(r.stdout)


def events(run, n: int = 1000) -> list:
    r = run.haesctl("events", str(n), "--json", timeout=15)
    if r.returncode != 0:
        raise AssertionError(f"haesctl events: exit {r.returncode}: {r.stdout} {r.stderr}")
    return json.loads(r.stdout)["events"]


def wait_status(run, pred, timeout: float = 20, what: str = "agent status") -> dict:
    seen = {}

    def check():
        seen["s"] = status(run)
        return pred(seen["s"])
    wait_for(check, timeout, what=what)
    return seen["s"]


def served_by(hap, n: int = 3) -> set:
    seen = set()
    for _ in range(n):
        r = hap.get("/", timeout=3)
        seen.add(json.loads(r.body)["cluster_name"] if r.status == 200 else f"{r.status}")
    return seen
