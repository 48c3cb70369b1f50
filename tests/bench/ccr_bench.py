#!/usr/bin/python3
"""CCR mode figures (docs/benchmarks.md "CCR mode"). Prints figures; asserts
nothing about speed.

    tests/bench/ccr_bench.py [--indices N] [--runs R] [--load-seconds S]

1. the lag under a steady write load through HAProxy: the agent's
   passive_data_age_seconds and the largest operations_behind, sampled every
   0.5 s (sync.ccr.poll_interval: 1s);
2. failover time with promotion: dc1 forced red, a client sending requests
   back to back through HAProxy; the time until the first request served by
   dc2, and the promotion's own duration (haes_ccr_last_promotion_seconds),
   for N follower indices, R runs.
Needs a build (scripts/build.sh haes-agent haesctl)."""

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

from haestest.bed import Bed  # noqa: E402
from haestest.proc import ProcessGroup, wait_for  # noqa: E402

CCR = {"sync": {"mode": "ccr",
                "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
                "ccr": {"indices": ["logs-*"], "manage": True, "poll_interval": "1s", "timeout": "20s",
                        "transport_port": 0}}}


def start(procs, tmp: Path, indices: int) -> Bed:
    bed = Bed.start(procs, tmp, agent_extra=json.loads(json.dumps(CCR)))
    names = [f"logs-{i}" for i in range(indices)]
    for n in names:
        bed.dc1.create_index(n, shards=2)
    bed.wait_status(lambda s: len(s["sync"]["followers"]) == indices and s["sync"]["passive_data_age_seconds"] >= 0,
                    timeout=60, what="every index followed")
    bed.hap.wait_servers("es_dc1", "UP")
    return bed


def lag_under_load(seconds: int, indices: int) -> None:
    with tempfile.TemporaryDirectory() as d, ProcessGroup(Path(d) / "procs") as procs:
        bed = start(procs, Path(d), indices)
        stop, acked = threading.Event(), [0]

        def writer():
            i = 0
            while not stop.is_set():
                if bed.hap.request("PUT", f"/logs-{i % indices}/_doc/{i}", {"n": i}).status in (200, 201):
                    acked[0] += 1
                i += 1
        t = threading.Thread(target=writer)
        t.start()
        ages, behind = [], []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            s = bed.status()["sync"]
            ages.append(s["passive_data_age_seconds"])
            behind.append(max([f["operations_behind"] for f in s["followers"]] or [0]))
            time.sleep(0.5)
        stop.set()
        t.join()
        known = [a for a in ages if a >= 0]
        print(f"lag under load: {acked[0] / seconds:.0f} acknowledged writes/s over {indices} index(es), "
              f"{seconds} s; passive_data_age_seconds max {max(known) if known else '?'} s, "
              f"mean {sum(known) / max(1, len(known)):.2f} s (unknown in {len(ages) - len(known)} of "
              f"{len(ages)} samples); operations_behind max {max(behind)}")


def failover_time(indices: int) -> None:
    with tempfile.TemporaryDirectory() as d, ProcessGroup(Path(d) / "procs") as procs:
        bed = start(procs, Path(d), indices)
        t0 = time.monotonic()
        bed.dc1.force_red()
        failed = [0]

        def on_dc2():
            r = bed.hap.get("/")
            if r.status != 200:
                failed[0] += 1
                return False
            return json.loads(r.body)["cluster_name"] == "dc2"
        wait_for(on_dc2, 30, interval=0.0, what="a request served by dc2")
        took = time.monotonic() - t0
        promo = bed.metric("haes_ccr_last_promotion_seconds")
        print(f"failover with {indices} follower(s): first request on dc2 after {took:.2f} s; promotion "
              f"{promo * 1000:.0f} ms; {failed[0]} request(s) refused in between")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--indices", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--load-seconds", type=int, default=30)
    a = ap.parse_args()
    lag_under_load(a.load_seconds, a.indices)
    for _ in range(a.runs):
        failover_time(a.indices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
