#!/usr/bin/python3
"""Repository copy per sync for a growing index (docs/benchmarks.md "Two
repositories copied by rsync"). Prints a table; asserts only that every
sync succeeds and the passive cluster holds every document.

    tests/bench/sync_copy.py [--rounds N] [--docs D] [--pad BYTES]

Two essim clusters with their own path.repo, the agent with
sync.repository.copy and the real rsync; each round writes D documents of
about BYTES bytes into one index (2 shards) on dc1, runs `haesctl sync now`
and reads the copy's bytes, files and duration from `haesctl status
--json`, and the size of dc1's repository from the disk."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
sys.path.insert(0, str(HERE.parent / "integration"))

from haestest.bed import Bed  # noqa: E402
from haestest.proc import ProcessGroup  # noqa: E402
from test_sync_rsync import repo, sync_config  # noqa: E402


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--pad", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="haes-bench-copy-") as tmp:
        work = Path(tmp)
        with ProcessGroup(work / "procs") as procs:
            bed = Bed.start(procs, work, haproxy=False, separate_repos=True, agent_extra=sync_config(work))
            bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first sync")
            bed.dc1.create_index("orders", shards=2, replicas=0)
            print("| sync | documents | repository (dc1) | copied files | copied bytes | copy time | sync time |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            total = 0
            for n in range(1, args.rounds + 1):
                for start in range(0, args.docs, 1000):
                    ids = range(total + start, total + min(args.docs, start + 1000))
                    bed.dc1.bulk_index("orders", {i: {"n": i, "pad": "x" * args.pad} for i in ids})
                total += args.docs
                t0 = time.monotonic()
                r = bed.agent.haesctl("sync", "now", timeout=600)
                took = time.monotonic() - t0
                assert r.returncode == 0, r.stdout
                assert bed.dc2.count("orders") == total
                c = bed.status()["sync"]["copy"]
                print(f"| {n} | {total:,} | {size_of(repo(bed, 'dc1')):,} B | {c['files']} | {c['bytes']:,} B "
                      f"| {c['ms']} ms | {took:.2f} s |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
