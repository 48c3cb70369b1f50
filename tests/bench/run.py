#!/usr/bin/python3
"""Benchmarks of the verdict path (docs/benchmarks.md). Prints figures; asserts
nothing about speed.

    tests/bench/run.py [--seconds S] [--skip-e2e] [--idle N]

1. spoe-load against haes-agent: K connections x N NOTIFYs in flight;
2. the agent's RSS with N silent SPOP connections open (--idle, 2000);
3. wrk through HAProxy 2.6 with the shipped SPOE config vs the same HAProxy
   without the SPOE filter, in front of a static fake Elasticsearch.
Needs a build (scripts/build.sh) and wrk (scripts/setup.sh installs it)."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

from haestest.agent import AgentRun  # noqa: E402
from haestest.haproxy import HAPROXY, HAProxy  # noqa: E402
from haestest.proc import ProcessGroup, build_dir, free_port, port_open, wait_for  # noqa: E402


def wrk(url: str, seconds: int, connections: int = 64, threads: int = 2) -> str:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(out: str) -> str:
    rps = re.search(r"Requests/sec:\s+(\S+)", out).group(1)
    lat = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (f"{float(rps):>10.0f} req/s, latency avg {lat.group(1)} stdev {lat.group(2)} max {lat.group(3)}"
            + (f", NON-2XX {non2xx.group(1)}" if non2xx else ""))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--skip-rto", action="store_true")
    ap.add_argument("--rto-runs", type=int, default=3)
    ap.add_argument("--skip-sync", action="store_true")
    ap.add_argument("--sync-seconds", type=int, default=45)
    ap.add_argument("--idle", type=int, default=2000, help="silent SPOP connections for the memory figure (0: skip)")
    a = ap.parse_args()
    load = build_dir() / "tests" / "bench" / "spoe-load"
    if not load.exists():
        print("build first: scripts/build.sh", file=sys.stderr)
        return 2
    print(f"machine: {os.cpu_count()} cores, {subprocess.run(['uname', '-srm'], capture_output=True, text=True).stdout.strip()}")
    print(f"haproxy: {subprocess.run([HAPROXY, '-v'], capture_output=True, text=True).stdout.splitlines()[0]}")
    with tempfile.TemporaryDirectory(prefix="haes-bench-") as tmp, ProcessGroup(Path(tmp) / "procs") as procs:
        tmp = Path(tmp)
        fake = {f"FAKE_DC{c}_ES{n}": f"127.0.0.1:{free_port()}" for c in (1, 2) for n in (1, 2)}
        procs.start("fake-es", [HAPROXY, "-db", "-f", str(HERE / "fake-es.cfg")], env=fake)
        for addr in fake.values():
            wait_for(lambda p=int(addr.split(":")[1]): port_open(p), 10, what="fake ES")
        ports = {f"dc{c}": {f"es{n}": int(fake[f"FAKE_DC{c}_ES{n}"].split(":")[1]) for n in (1, 2)} for c in (1, 2)}
        agent = AgentRun(tmp / "agent", ports, extra={"log": {"level": "info"}})
        agent.start(procs)

        print(f"\n== spoe-load against haes-agent ({a.seconds}s each; agent spoe.threads=2)")
        for k, n in ((1, 1), (4, 16), (8, 64)):
            cpu0 = cpu_seconds(agent.proc.pid)
            r = subprocess.run([str(load), "--port", str(agent.spoe_port), "--connections", str(k),
                                "--inflight", str(n), "--seconds", str(a.seconds)],
                               capture_output=True, text=True)
            cpu = cpu_seconds(agent.proc.pid) - cpu0
            if r.returncode != 0:
                print(r.stdout + r.stderr)
                return 1
            print(f"-- K={k} N={n}\n" + r.stdout.strip())
            # The agent's own CPU per message: what the verdict path costs,
            # much less sensitive than messages/s to other load on the machine.
            m = re.search(r"messages=(\d+)", r.stdout)
            if m and int(m.group(1)) > 0:
                print(f"agent CPU: {cpu:.2f} s, {cpu / int(m.group(1)) * 1e6:.2f} us/message")

        if a.idle:
            idle_connections(agent, a.idle)

        if not a.skip_e2e:
            rc = e2e(procs, tmp, agent, ports, fake, a.seconds)
            if rc:
                return rc
    if not a.skip_rto:
        rto(a.rto_runs)
    if not a.skip_sync:
        sync_figures(a.sync_seconds)
    return 0


def rss_kib(pid: int) -> int:
    return int(re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


def idle_connections(agent: AgentRun, n: int) -> None:
    """What a SPOP connection that never sends a byte costs the agent: RSS
    with n of them open (within spoe.hello_timeout, 5 s, which closes them)."""
    import resource
    import socket
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    pid = agent.proc.pid

    def open_connections() -> float:
        m = re.search(r"^haes_spoe_connections (\S+)$", agent.health("/metrics")[1], re.M)
        return float(m.group(1)) if m else -1

    wait_for(lambda: open_connections() == 0, 10, what="no SPOP connection open")
    base = rss_kib(pid)
    socks = [socket.create_connection(("127.0.0.1", agent.spoe_port)) for _ in range(n)]
    # Every one accepted (the agent's own gauge), inside the 5 s hello_timeout.
    wait_for(lambda: open_connections() >= n, 4, interval=0.05, what=f"{n} SPOP connections accepted")
    held = rss_kib(pid)
    for sk in socks:
        sk.close()
    print(f"\n== {n} silent SPOP connections (never a byte sent)")
    print(f"agent RSS: {base} KiB -> {held} KiB with them open: {(held - base) / n:.1f} KiB per connection")


def sync_figures(seconds: int) -> None:
    """Sync duration and RPO under a steady write load through HAProxy, then
    the write-unavailable window of a planned switchover."""
    import threading
    import time
    from haestest.bed import Bed
    from haestest.essim import http
    print(f"\n== snapshot sync under a steady write load ({seconds}s, sync.interval 10s, "
          "essim snapshot speed 1 MB/s)")
    with tempfile.TemporaryDirectory(prefix="haes-sync-") as tmp, ProcessGroup(Path(tmp) / "procs") as procs:
        bed = Bed.start(procs, Path(tmp), nodes=3, agent_extra={"sync": {
            "interval": "10s", "indices": ["orders*"],
            "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}}})
        bed.hap.wait_servers("es_dc1", "UP")
        http("PUT", bed.hap.url + "/orders", {"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
        stop, acked = threading.Event(), [0]

        def writer():
            i = 0
            while not stop.is_set():
                st, _ = http("PUT", f"{bed.hap.url}/orders/_doc/{i}", {"n": i, "pad": "x" * 200})
                if st in (200, 201):
                    acked[0] += 1
                i += 1
                time.sleep(0.01)
        t = threading.Thread(target=writer)
        t.start()
        ages, seen = [], set()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            s = bed.status()["sync"]
            if s["passive_data_age_seconds"] >= 0:
                ages.append(s["passive_data_age_seconds"])
            if s["last_result"] == "ok" and s["last_synced_snapshot"] not in seen:
                seen.add(s["last_synced_snapshot"])
                print(f"sync {s['last_synced_snapshot']}: snapshot {s['snapshot_ms']} ms, restore "
                      f"{s['restore_ms']} ms, total {s['total_ms']} ms")
            time.sleep(0.5)
        print(f"writes acknowledged: {acked[0]} (~{acked[0] / seconds:.0f}/s)")
        if ages:
            print(f"passive_data_age_seconds (RPO) sampled every 0.5s: max {max(ages)}s, "
                  f"mean {sum(ages) / len(ages):.1f}s (bound: interval + sync duration)")
        r = bed.agent.haesctl("switchover", "--to", "dc2", timeout=300)
        bed.wait_traffic_on("dc2")
        stop.set()
        t.join()
        line = [x for x in r.stdout.splitlines() if "writes were unavailable" in x]
        print("switchover: " + (line[0] if line else r.stdout.strip()))
        st, out = http("GET", bed.hap.url + "/orders/_count")
        print(f"documents through HAProxy after the switchover: {out['count']} (acknowledged writes: {acked[0]})")


def rto(runs: int) -> None:
    """Failover time as clients see it: real traffic runs through HAProxy
    (one request after another), dc1 is forced red, and we print the time
    from the break to the first request served by dc2, and how many
    requests failed in between (agent defaults: 3 rounds of 1 s)."""
    import json
    import threading
    import time
    from haestest.bed import Bed
    print(f"\n== failover time through HAProxy under traffic (essim, agent defaults: fail_threshold 3, "
          f"interval 1s), {runs} runs")
    took = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="haes-rto-") as tmp, ProcessGroup(Path(tmp) / "procs") as procs:
            bed = Bed.start(procs, Path(tmp), nodes=3)
            bed.hap.wait_servers("es_dc1", "UP")
            log, stop = [], threading.Event()

            def traffic():
                while not stop.is_set():
                    r = bed.hap.get("/")
                    who = json.loads(r.body)["cluster_name"] if r.status == 200 else None
                    log.append((time.monotonic(), r.status, who))
            t = threading.Thread(target=traffic)
            t.start()
            wait_for(lambda: len(log) >= 100, 10, what="traffic through HAProxy")
            t0 = time.monotonic()
            bed.dc1.force_red()
            bed.wait_traffic_on("dc2", timeout=20)
            stop.set()
            t.join()
            first_dc2 = min(ts for ts, st, who in log if who == "dc2")
            window = [(st, who) for ts, st, who in log if t0 <= ts < first_dc2]
            failed = sum(1 for st, _ in window if st != 200)
            on_dc1 = sum(1 for st, who in window if who == "dc1")
            took.append(first_dc2 - t0)
            print(f"run {i + 1}: first request on dc2 {first_dc2 - t0:.2f}s after the break; in between "
                  f"{len(window)} requests: {on_dc1} answered by dc1 (red, still serving its healthy shards), "
                  f"{failed} failed")
    print(f"failover time: min {min(took):.2f}s max {max(took):.2f}s (bound: 3 x 1s + 1s = 4s)")


def e2e(procs, tmp, agent, ports, fake, seconds) -> int:
    if not shutil.which("wrk"):
        print("wrk not installed (scripts/setup.sh)", file=sys.stderr)
        return 2
    hap = HAProxy.start(procs, tmp / "haproxy", spoe_port=agent.spoe_port, health_port=agent.health_port,
                        nodes={c: list(p.values()) for c, p in ports.items()})
    hap.wait_servers("es_dc1", "UP")
    base_port = free_port()
    env = {"HAES_FRONTEND_BIND": f"127.0.0.1:{base_port}",
           "HAES_DC1_ES1": fake["FAKE_DC1_ES1"], "HAES_DC1_ES2": fake["FAKE_DC1_ES2"]}
    procs.start("haproxy-nospoe", [HAPROXY, "-db", "-f", str(HERE / "haproxy-nospoe.cfg")], env=env)
    wait_for(lambda: port_open(base_port), 10, what="baseline haproxy")
    print(f"\n== wrk through HAProxy ({seconds}s, 64 connections, 2 threads)")
    base = wrk(f"http://127.0.0.1:{base_port}/", seconds)
    spoe = wrk(hap.url + "/", seconds)
    print("without SPOE: " + summary(base))
    print("with SPOE:    " + summary(spoe))
    b = float(re.search(r"Requests/sec:\s+(\S+)", base).group(1))
    s = float(re.search(r"Requests/sec:\s+(\S+)", spoe).group(1))
    print(f"with SPOE / without: {s / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
