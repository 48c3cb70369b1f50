"""A restore the killed agent left running in Elasticsearch (found by the
kill campaign): the restarted agent's next sync must recognise it — wait for
it, or say plainly what it is — never fail with Elasticsearch's raw "Cannot
close indices that are being restored" (issue 12, item 2)."""

import threading
import time

from haestest.bed import Bed
from haestest.proc import wait_for

SYNC = {"sync": {"interval": "1h", "indices": ["orders*"], "timeout": "2m",
                 "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}}}


def test_kill9_mid_restore_then_sync_recognises_the_orphaned_restore(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra=SYNC)
    bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first sync")
    bed.dc1.create_index("orders", shards=1, replicas=0)
    bed.dc1.bulk_index("orders", {i: {"pad": "x" * 2000} for i in range(500)})
    assert bed.agent.haesctl("sync", "now", timeout=120).returncode == 0
    bed.dc2.set_snapshot_speed(100_000)  # the next restore copies ~1 MB for ~10 s
    t = threading.Thread(target=lambda: bed.agent.haesctl("sync", "now", timeout=120), daemon=True)
    t.start()
    bed.wait_status(lambda s: s["sync"]["running"].startswith("sync: restore"), timeout=30,
                    what="the restore running")
    bed.agent.proc.kill9()
    t.join(30)
    bed.agent.start(procs)
    # The restore is still copying in dc2 (essim: ~10 s); the next sync
    # (ours, or the one the agent schedules at start) meets it.
    t0 = time.monotonic()
    replies = []

    def synced():
        r = bed.agent.haesctl("sync", "now", timeout=120)
        replies.append(r.stdout + r.stderr)
        return r.returncode == 0
    wait_for(synced, 90, interval=0.5, what="a sync after the orphaned restore")
    failed = [e["message"] for e in bed.events() if e["kind"] == "sync_failed"]
    raw = [m for m in replies + failed if "Cannot close indices that are being restored" in m]
    assert not raw, raw
    # Recognised and said plainly: the agent waited for the earlier restore.
    assert "is still being restored by an earlier restore" in bed.agent.proc.log()
    assert bed.dc2.count("orders") == 500
    print(f"sync after the orphaned restore: {time.monotonic() - t0:.1f}s; replies {replies}")
