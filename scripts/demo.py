#!/usr/bin/python3
"""The main job, shown end to end (scripts/demo.sh runs it after setup and
build): two simulated Elasticsearch clusters (essim, 3 nodes each) sharing
a snapshot repository, haes-agent on its default embedded state store
(local file) with snapshot sync every 10 s, and HAProxy 2.6 with the shipped
configuration in front. Documents are written through HAProxy; the agent
copies them to the passive cluster by itself; status shows the RPO; dc1 is
broken for real (a lost primary: red) and the agent fails over to dc2,
where the documents are still there; then dc1 is healed and the operator
fails back without losing the writes made on dc2 meanwhile. Everything runs
on loopback ports chosen at run time and is stopped at the end (--keep
leaves it running until Ctrl-C)."""

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

# The agent's sync: both essim clusters share one repository root (as two
# Elasticsearch clusters share an fs repository on a common mount), and the
# agent snapshots the active cluster and restores the passive one every 10 s
# (the smallest interval it accepts; the default is 5m).
SYNC = {"interval": "10s", "indices": ["orders*"],
        "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}},
        "retention": {"keep": 3}}


def say(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def show(cmd: str, out: str) -> None:
    print(f"$ {cmd}")
    print(out.rstrip(), flush=True)


def sections(status_text: str, *names: str) -> str:
    """The named `# section`s of haesctl status, in order."""
    out, keep = [], False
    for line in status_text.splitlines():
        if line.startswith("# "):
            keep = line[2:] in names
        if keep:
            out.append(line)
    return "\n".join(out)


class Demo:
    def __init__(self, bed: Bed):
        self.bed = bed
        self.ctl = f"haesctl --socket {bed.agent.admin_socket}"

    def haesctl(self, *args: str, shown: str = "", timeout: float = 120):
        r = self.bed.agent.haesctl(*args, timeout=timeout)
        show(f"{self.ctl} {shown or ' '.join(args)}", r.stdout + r.stderr)
        return r

    def status(self, *names: str) -> None:
        text = self.bed.agent.haesctl("status").stdout
        if names:
            show(f"{self.ctl} status    # sections {', '.join(names)}", sections(text, *names))
        else:
            show(f"{self.ctl} status", text)

    def via(self, method: str, path: str, body=None, what: str = ""):
        """One request through HAProxy, printed with where it went."""
        r = self.bed.hap.request(method, path, body)
        print(f"{method} {path}{what} -> {r.status}, X-Haes-Cluster: {r.header('X-Haes-Cluster')}, "
              f"X-Haes-Epoch: {r.header('X-Haes-Epoch')}")
        if r.status >= 300:
            print(f"    {r.body[:300].decode(errors='replace')}")
        return r.status, (r.json() if r.body else None)

    def write(self, ids) -> None:
        lines = []
        for i in ids:
            lines += [json.dumps({"index": {"_index": "orders", "_id": str(i)}}), json.dumps({"order": i})]
        status, out = self.via("POST", "/_bulk?refresh=true", "\n".join(lines) + "\n",
                               what=f"   ({len(ids)} documents)")
        if status != 200 or out["errors"]:
            raise SystemExit(f"demo: the bulk write failed: {status} {out}")

    def count(self) -> int:
        status, out = self.via("GET", "/orders/_count")
        if status != 200:
            raise SystemExit(f"demo: count through HAProxy failed: {status} {out}")
        print(f"    count: {out['count']}")
        return out["count"]

    def wait_sync(self, source: str, target: str, after: str, timeout: float = 60) -> dict:
        """Waits for a successful scheduled sync source -> target that started after `after`
        (ISO time); returns its journal event."""
        def done(s):
            sy = s["sync"]
            return (sy["last_result"] == "ok" and sy["source"] == source and sy["target"] == target
                    and sy["started_at"] > after)
        self.bed.wait_status(done, timeout=timeout, what=f"a sync from {source} to {target}")
        return [e for e in self.bed.events() if e["kind"] == "sync"][-1]


def utc_now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="leave everything running until Ctrl-C")
    ap.add_argument("--workdir", help="where logs and state go (default: a temporary directory)")
    a = ap.parse_args()
    tmp = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="haes-demo-"))
    if tmp.exists() and any(tmp.iterdir()):
        # A previous run's state store, repository and port files would be
        # taken for this run's.
        raise SystemExit(f"demo: --workdir {tmp} is not empty (a previous run's state, snapshots and "
                         f"port files are in it); give a new or empty directory")
    tmp.mkdir(parents=True, exist_ok=True)
    with ProcessGroup(tmp / "procs") as procs:
        say(f"Starting two simulated clusters (dc1, dc2), haes-agent and HAProxy (logs in {tmp}/procs)")
        bed = Bed.start(procs, tmp, nodes=3, agent_extra={"failover": {"hold_down": "30s"}, "sync": SYNC})
        bed.hap.wait_servers("es_dc1", "UP")
        d = Demo(bed)
        print(f"agent config: {bed.agent.config_path} (sync: every {SYNC['interval']}, "
              f"indices {SYNC['indices']}, fs repository shared by both clusters)")
        d.status()

        say(f"Clients write through HAProxy ({bed.hap.url}); the agent routes them to the active cluster, dc1")
        before = utc_now()
        d.via("PUT", "/orders", {"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
        d.write(range(100))
        d.count()

        say("The agent copies dc1 to the passive dc2 by itself (snapshot, then restore; every 10s)")
        ev = d.wait_sync("dc1", "dc2", after=before)
        print(f"journal: {ev['at']} {ev['kind']}: {ev['message']}")
        print(f"dc2, asked directly (it takes no client traffic): orders holds {bed.dc2.count('orders')} documents")
        d.status("sync")
        print("(passive_data_age_seconds is the RPO: what a failover now would lose)")

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
        if d.count() != 100:
            raise SystemExit("demo: the synced documents are not on dc2")
        print("    every document written before the sync is there, now served by dc2")
        d.haesctl("events", "3")
        d.status("roles", "sync")

        say("Clients keep writing (on dc2); dc1 is repaired but stays fenced until an operator brings it back")
        d.write(range(100, 110))
        bed.dc1.heal()
        bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green")
        d.haesctl("failback", "--dry-run")
        # A failback with sync is a planned move: writes blocked on dc2, a final
        # snapshot restored on dc1, then the switch. It waits for a scheduled
        # sync that is running to end (the agent runs one operation at a time).
        for _ in range(20):
            bed.wait_status(lambda s: not s["sync"]["running"], timeout=60, what="no sync running")
            r = bed.agent.haesctl("failback", "--reason", "dc1 repaired", timeout=120)
            if r.returncode == 0 or "is running" not in r.stdout:
                break
        show(f'{d.ctl} failback --reason "dc1 repaired"', r.stdout + r.stderr)
        if r.returncode != 0:
            raise SystemExit(f"demo: failback failed (exit {r.returncode})")
        bed.wait_traffic_on("dc1")
        if d.count() != 110:
            raise SystemExit("demo: the writes made on dc2 did not come back to dc1")
        print("    the 10 documents written on dc2 during the outage came back with the failback")
        d.status("roles", "sync")

        if a.keep:
            say(f"Everything keeps running. HAProxy: {bed.hap.url}  admin: {d.ctl}  "
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
