#!/usr/bin/python3
"""The main job, shown end to end (scripts/demo.sh runs it after setup and
build): two simulated Elasticsearch clusters (essim, 3 nodes each), haes-agent
on its default embedded state store (local file), and HAProxy 2.6 with the
shipped configuration in front. It shows status and traffic, breaks dc1 for
real (a lost primary: red), shows the automatic failover, then heals dc1 and
fails back on the operator's command. Everything runs on loopback ports
chosen at run time and is stopped at the end (--keep leaves it running
until Ctrl-C)."""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "lib"))
os.environ.setdefault("HAES_SOURCE_DIR", str(ROOT))

from haestest.bed import Bed  # noqa: E402
from haestest.proc import ProcessGroup  # noqa: E402


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def show(cmd: str, out: str) -> None:
    print(f"$ {cmd}")
    print(out.rstrip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="leave everything running until Ctrl-C")
    ap.add_argument("--workdir", help="where logs and state go (default: a temporary directory)")
    a = ap.parse_args()
    tmp = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="haes-demo-"))
    tmp.mkdir(parents=True, exist_ok=True)
    with ProcessGroup(tmp / "procs") as procs:
        say(f"Starting two simulated clusters (dc1, dc2), haes-agent and HAProxy (logs in {tmp}/procs)")
        bed = Bed.start(procs, tmp, nodes=3, agent_extra={"failover": {"hold_down": "30s"}})
        for c in (bed.dc1, bed.dc2):
            c.create_index("orders", shards=2, replicas=1)
            c.bulk_index("orders", {str(i): {"n": i} for i in range(100)})
        bed.hap.wait_servers("es_dc1", "UP")
        ctl = f"haesctl --socket {bed.agent.admin_socket}"
        show(f"{ctl} status", bed.agent.haesctl("status").stdout)

        say(f"Requests through HAProxy ({bed.hap.url}) go to the active cluster")
        for _ in range(3):
            r = bed.hap.get("/")
            print(f"GET / -> {r.status} cluster={json.loads(r.body)['cluster_name']} "
                  f"X-Haes-Cluster={r.header('X-Haes-Cluster')} X-Haes-Epoch={r.header('X-Haes-Epoch')}")

        say("Breaking dc1 for real: one primary shard lost, dc1 reports red")
        t0 = time.monotonic()
        bed.dc1.force_red("orders")
        t1 = bed.wait_traffic_on("dc2", timeout=20)
        if bed.status()["epoch"] != 2:
            raise SystemExit("demo: expected exactly one failover (epoch 2)")
        print(f"traffic is on dc2 {t1 - t0:.1f}s after dc1 turned red "
              f"(3 bad rounds of 1s: a single bad answer would not have moved it)")
        bed.hap.wait_servers("es_dc1", "DOWN")
        bed.hap.wait_servers("es_dc2", "UP")
        print("HAProxy: " + ", ".join(f"{b}/{s}={st}" for (b, s), st in sorted(bed.hap.server_states().items())
                                      if b.startswith("es_")))
        show(f"{ctl} status", bed.agent.haesctl("status").stdout)
        show(f"{ctl} events 5", bed.agent.haesctl("events", "5").stdout)

        say("dc1 is repaired; it stays fenced until an operator brings it back")
        bed.dc1.heal()
        bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green")
        r = bed.agent.haesctl("failback", "--dry-run")
        show(f"{ctl} failback --dry-run", r.stdout)
        r = bed.agent.haesctl("failback", "--reason", "dc1 repaired")
        show(f'{ctl} failback --reason "dc1 repaired"', r.stdout)
        if r.returncode != 0:
            raise SystemExit(f"demo: failback failed (exit {r.returncode}): {r.stdout}{r.stderr}")
        bed.wait_traffic_on("dc1")
        r = bed.hap.get("/")
        print(f"GET / -> {r.status} cluster={json.loads(r.body)['cluster_name']} X-Haes-Epoch={r.header('X-Haes-Epoch')}")
        show(f"{ctl} status", bed.agent.haesctl("status").stdout)

        if a.keep:
            say(f"Everything keeps running. HAProxy: {bed.hap.url}  admin: {ctl}  "
                f"essim control: dc1 :{bed.dc1.control_port}, dc2 :{bed.dc2.control_port}. Ctrl-C stops.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        say("Stopping everything")
    return 0


if __name__ == "__main__":
    sys.exit(main())
