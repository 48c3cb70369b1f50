"""Issue 13 end to end: two sites without a shared file system. Each essim
cluster has its own path.repo (repo-dc1, repo-dc2); the agent, with
sync.repository.copy, snapshots the active cluster into its own repository,
copies what is new into the passive cluster's repository with the real
rsync (blobs first, root files last), verifies the copy, and restores from
it there. Nothing is shared but what rsync carries."""

import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from haestest.bed import Bed
from haestest.faultproxy import FaultProxy
from haestest.proc import wait_for
from haestest.sshd import Sshd


# How rsync reports a remote shell (ssh) that failed: 255 when it notices
# ssh's exit first, 12 ("error in rsync protocol data stream") when it notices
# the closed pipe first. Both were seen on Debian 12's rsync for the same
# refused host key. ssh's own lines, quoted after it, tell the operator why.
REMOTE_SHELL_FAILED = re.compile(r"rsync exited with (255 \(the remote shell failed|12 \(error in rsync protocol)")

def sync_config(tmp_path: Path, **copy) -> dict:
    locations = {c: str(tmp_path / f"repo-{c}" / "haes") for c in ("dc1", "dc2")}
    return {"sync": {"interval": "1h", "indices": ["orders*"],
                     "repository": {"name": "haes", "type": "fs", "settings": {"location": "haes"},
                                    "copy": {"locations": locations, **copy}},
                     "retention": {"keep": 2}}}


def start(procs, tmp_path, wait_first=True, **copy) -> Bed:
    bed = Bed.start(procs, tmp_path, haproxy=False, separate_repos=True, agent_extra=sync_config(tmp_path, **copy))
    if wait_first:
        # The first scheduled sync runs a few seconds after start (nothing to restore yet).
        bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first sync")
    return bed


def repo(bed, cluster) -> Path:
    return bed.workdir / f"repo-{cluster}" / "haes"


def root_files(path: Path) -> dict:
    return {p.name: p.read_bytes() for p in path.iterdir() if p.name.startswith("index")} if path.exists() else {}


def sync_now(bed, timeout=120):
    return bed.agent.haesctl("sync", "now", timeout=timeout)


def write(cluster, ids, pad=200):
    cluster.bulk_index("orders", {i: {"n": i, "pad": "x" * pad} for i in ids})


def snapshots_as_read_by(cluster) -> list:
    """What the cluster's repository names, every named snapshot read in
    full: essim, as ES, answers 404 if one of them has a blob missing."""
    status, out = cluster.es("GET", "/_snapshot/haes/_all")
    assert status == 200, (status, out)
    return [s["snapshot"] for s in out["snapshots"]]


def rsync_pids_writing(target: Path) -> list:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(b"rsync" in c for c in cmd[:1]) and f"{target}/".encode() in cmd:
                pids.append(int(d.name))
    return pids


def test_writes_reach_the_passive_cluster_through_its_own_repository_and_copies_are_incremental(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc1.create_index("orders", shards=2, replicas=0)
    write(bed.dc1, range(400), pad=500)
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert "synced 1 index(es) from dc1 to dc2" in r.stdout and "from dc1's repository to dc2's" in r.stdout
    assert bed.dc2.count("orders") == 400
    s = bed.status()["sync"]
    assert s["repository"] == {"dc1": "writer", "dc2": "readonly"}
    first = s["copy"]
    assert (first["from"], first["to"], first["error"]) == ("dc1", "dc2", "")
    assert first["bytes"] > 400 * 500 and first["files"] > 0
    # The two repositories are separate directories with the same root.
    assert root_files(repo(bed, "dc2")) == root_files(repo(bed, "dc1")) != {}
    assert snapshots_as_read_by(bed.dc2) == snapshots_as_read_by(bed.dc1)
    text = bed.agent.haesctl("status").stdout
    assert "last_copy: rsync dc1 -> dc2, " in text, text
    assert "repository haes (fs, one per cluster, copied by rsync)" in text, text
    assert bed.metric("haes_sync_copy_runs_total", result="ok") >= 1
    assert bed.metric("haes_sync_copy_bytes_total") >= first["bytes"]
    assert bed.metric("haes_sync_copy_last_bytes") == first["bytes"]
    assert bed.metric("haes_sync_duration_seconds", phase="copy") >= 0
    assert any(e["kind"] == "sync" and "from dc1's repository to dc2's" in e["message"] for e in bed.events())

    # The second sync copies only what is new: a few documents' blobs.
    write(bed.dc1, range(400, 410), pad=500)
    assert sync_now(bed).returncode == 0
    second = bed.status()["sync"]["copy"]
    assert bed.dc2.count("orders") == 410
    assert 0 < second["bytes"] < first["bytes"] / 4, (first, second)
    assert second["files"] < first["files"]
    # Retention (keep 2) deleted the oldest snapshots at the source; the
    # target was pruned to the same set after its restore.
    write(bed.dc1, range(410, 420))
    assert sync_now(bed).returncode == 0
    assert bed.dc2.count("orders") == 420
    assert len(snapshots_as_read_by(bed.dc1)) == 2
    assert snapshots_as_read_by(bed.dc2) == snapshots_as_read_by(bed.dc1)
    files = lambda c: sorted(str(p.relative_to(repo(bed, c))) for p in repo(bed, c).rglob("*") if p.is_file())
    assert files("dc2") == files("dc1")


@pytest.mark.parametrize("copy,expected", [
    ({"rsync_command": "/nonexistent/bin/rsync"}, "cannot run \"/nonexistent/bin/rsync\""),
    ({"rsync_command": "false"}, "rsync exited with 1 (syntax or usage error)"),
    ({"bandwidth_limit": 1, "timeout": "1s"}, "rsync killed after sync.repository.copy.timeout"),
], ids=["missing", "failing", "timeout"])
def test_rsync_missing_or_failing_is_a_clear_error_and_never_a_restore(procs, tmp_path, copy, expected):
    bed = start(procs, tmp_path, **copy)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(20))
    r = sync_now(bed)
    assert r.returncode != 0
    assert expected in r.stdout and "nothing restored" in r.stdout, r.stdout
    s = bed.status()["sync"]
    assert s["last_result"] == "failed" and expected in s["last_error"]
    assert s["copy"]["error"] == s["last_error"]
    assert any(e["kind"] == "sync_failed" and expected in e["message"] for e in bed.events())
    assert bed.metric("haes_sync_copy_runs_total", result="failed") >= 1
    assert not any("restore" in k for k in bed.dc2.counters())
    assert bed.dc2.es("GET", "/orders")[0] == 404
    assert "FAILED: " in bed.agent.haesctl("status").stdout


def failing_rsync(tmp_path: Path) -> Path:
    """A wrapper around the real rsync: the Nth call (N in `fail_at`) fails,
    before running rsync (`before`) or after it ran to the end (`after`):
    the copy interrupted before or after each of its steps."""
    d = tmp_path / "wrapper"
    d.mkdir()
    (d / "fail_at").write_text("0 before")
    script = d / "rsync"
    script.write_text(f"""#!/bin/sh
n=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count
set -- "$@"
read at mode < {d}/fail_at
if [ "$n" = "$at" ]; then
  if [ "$mode" = after ]; then rsync "$@" >/dev/null; fi
  echo "simulated interruption of call $n ($mode)" >&2
  exit 12
fi
exec rsync "$@"
""")
    script.chmod(0o755)
    return script


def test_an_interrupted_copy_at_every_step_leaves_the_target_valid_for_its_previous_snapshot(procs, tmp_path):
    wrapper = failing_rsync(tmp_path)
    bed = start(procs, tmp_path, rsync_command=str(wrapper))
    d = wrapper.parent
    bed.dc1.create_index("orders", shards=2, replicas=0)
    write(bed.dc1, range(100))
    assert sync_now(bed).returncode == 0
    synced = bed.status()["sync"]["last_synced_snapshot"]
    total = synced_total = 100
    # Per sync the copy calls rsync for: 1 blobs, 2 root files, 3 verification.
    for call, phase in ((1, "blobs"), (2, "root"), (3, "verify")):
        for mode in ("before", "after"):
            write(bed.dc1, range(total, total + 10))
            total += 10
            count = int((d / "count").read_text())
            (d / "fail_at").write_text(f"{count + call} {mode}")
            r = sync_now(bed)
            assert r.returncode != 0, (phase, mode, r.stdout)
            assert f"({phase} phase" in r.stdout and "simulated interruption" in r.stdout, r.stdout
            # Never a restore: dc2 still holds the previously synced data.
            assert bed.dc2.count("orders") == synced_total
            names = snapshots_as_read_by(bed.dc2)  # every snapshot it names is whole
            if call == 1 or (call == 2 and mode == "before"):
                assert bed.status()["sync"]["last_synced_snapshot"] in names
                assert bed.status()["sync"]["last_snapshot"] not in names, (phase, mode, names)
            else:
                assert bed.status()["sync"]["last_snapshot"] in names, (phase, mode, names)
            # dc2 can restore the last synced snapshot from its own repository.
            last = bed.status()["sync"]["last_synced_snapshot"]
            bed.dc2.ok("POST", "/orders/_close")
            out = bed.dc2.ok("POST", f"/_snapshot/haes/{last}/_restore?wait_for_completion=true", {})
            assert out["snapshot"]["shards"]["failed"] == 0
            (d / "fail_at").write_text("0 before")
            # The next sync resumes and completes.
            r = sync_now(bed)
            assert r.returncode == 0, (phase, mode, r.stdout)
            assert bed.dc2.count("orders") == total
            synced_total = total
    assert bed.status()["sync"]["last_synced_snapshot"] != synced


def test_rsync_killed_in_the_blob_phase_then_the_agent_killed_then_the_next_sync_completes(procs, tmp_path):
    bed = start(procs, tmp_path, bandwidth_limit=100)  # KiB/s: the blob phase runs for seconds
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(50))
    assert sync_now(bed).returncode == 0
    previous = bed.status()["sync"]["last_synced_snapshot"]
    before = root_files(repo(bed, "dc2"))
    write(bed.dc1, range(50, 1050), pad=1000)  # about 1 MB

    # 1. rsync killed (-9) in the blob phase: the sync fails, the target's
    #    root files are untouched, dc2 still restores the previous snapshot.
    t = threading.Thread(target=lambda: sync_now(bed))
    t.start()
    bed.wait_status(lambda s: "(blobs)" in s["sync"]["running"], what="the blob phase")
    pids = wait_for(lambda: rsync_pids_writing(repo(bed, "dc2")), 10, what="rsync running")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    t.join(60)
    s = bed.status()["sync"]
    assert s["last_result"] == "failed" and "killed by signal 9" in s["last_error"], s
    assert root_files(repo(bed, "dc2")) == before
    assert snapshots_as_read_by(bed.dc2)[-1] == previous
    assert bed.dc2.count("orders") == 50

    # 2. the agent killed -9 in the blob phase: its rsync dies with it.
    t = threading.Thread(target=lambda: sync_now(bed))
    t.start()
    bed.wait_status(lambda s: "(blobs)" in s["sync"]["running"], what="the blob phase again")
    wait_for(lambda: rsync_pids_writing(repo(bed, "dc2")), 10, what="rsync running")
    bed.agent.proc.kill9()
    t.join(30)
    wait_for(lambda: not rsync_pids_writing(repo(bed, "dc2")), 10, what="rsync gone with the agent")
    assert root_files(repo(bed, "dc2")) == before
    assert snapshots_as_read_by(bed.dc2)[-1] == previous

    # 3. restarted without the bandwidth limit: the next sync completes.
    bed.agent.extra["sync"]["repository"]["copy"].pop("bandwidth_limit")
    bed.agent.start(procs)
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 1050
    assert snapshots_as_read_by(bed.dc2) == snapshots_as_read_by(bed.dc1)


def test_after_a_failover_the_copy_runs_the_other_way(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(50))
    assert sync_now(bed).returncode == 0
    write(bed.dc1, range(50, 60))  # after the sync point: lost with dc1
    bed.dc1.force_red("orders")
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=30, what="the failover to dc2")
    bed.dc1.heal()
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green")
    write(bed.dc2, range(1000, 1010))
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert "from dc2 to dc1" in r.stdout and "from dc2's repository to dc1's" in r.stdout
    s = bed.status()["sync"]
    assert (s["copy"]["from"], s["copy"]["to"]) == ("dc2", "dc1")
    assert s["repository"] == {"dc1": "readonly", "dc2": "writer"}
    assert bed.dc1.count("orders") == 60
    assert root_files(repo(bed, "dc1")) == root_files(repo(bed, "dc2"))
    assert snapshots_as_read_by(bed.dc1) == snapshots_as_read_by(bed.dc2)
    # Each cluster writes only its own repository: dc1 is read-only on its own now.
    status, out = bed.dc1.es("PUT", "/_snapshot/haes/rogue?wait_for_completion=true", {"indices": "orders"})
    assert status == 500 and "readonly" in json.dumps(out)


def test_a_planned_switchover_copies_the_final_snapshot_before_restoring_it(procs, tmp_path):
    bed = start(procs, tmp_path)
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(80))
    assert sync_now(bed).returncode == 0
    write(bed.dc1, range(80, 100))  # after the sync point: carried by the switchover's final snapshot
    r = bed.agent.haesctl("switchover", "--to", "dc2", "--reason", "test", timeout=120)
    assert r.returncode == 0, r.stdout
    assert "without loss" in r.stdout
    assert bed.dc2.count("orders") == 100
    s = bed.status()
    assert s["active"] == "dc2"
    assert (s["sync"]["copy"]["from"], s["sync"]["copy"]["to"], s["sync"]["copy"]["error"]) == ("dc1", "dc2", "")
    write(bed.dc2, range(100, 110))
    r = sync_now(bed)
    assert r.returncode == 0 and "from dc2's repository to dc1's" in r.stdout, r.stdout
    assert bed.dc1.count("orders") == 110


def test_a_host_path_location_goes_over_a_real_ssh_server_that_must_be_the_known_one(procs, tmp_path):
    """dc2's repository as user@host:path, reached over ssh (ssh_command) to
    a real OpenSSH server on loopback, its host key verified. A server whose
    key is not the known one is refused: the copy fails plainly, nothing is
    restored, and the next sync with the right key completes."""
    sshd = Sshd.start(procs, tmp_path / "sshd")
    cfg = sync_config(tmp_path, ssh_command=sshd.ssh_command())
    locations = cfg["sync"]["repository"]["copy"]["locations"]
    locations["dc2"] = sshd.remote(Path(locations["dc2"]))
    bed = Bed.start(procs, tmp_path, haproxy=False, separate_repos=True, agent_extra=cfg)
    bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first sync")
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(30))
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 30
    assert root_files(repo(bed, "dc2")) == root_files(repo(bed, "dc1")) != {}
    sshd_log = sshd.proc.log_path.read_text()
    assert f"Accepted publickey for {sshd.user}" in sshd_log, sshd_log[-2000:]
    # Another server answering at that address (its key unknown): refused.
    before = root_files(repo(bed, "dc2"))
    sshd.known_hosts.write_text(f"[127.0.0.1]:{sshd.port} " + (tmp_path / "sshd" / "client_key.pub").read_text())
    write(bed.dc1, range(30, 40))
    r = sync_now(bed)
    assert r.returncode != 0, r.stdout
    s = bed.status()["sync"]
    assert s["last_result"] == "failed", s
    err = s["copy"]["error"]
    assert REMOTE_SHELL_FAILED.search(err), err
    assert "has changed and you have requested strict checking. / Host key verification failed." in err, err
    assert any(e["kind"] == "sync_failed" and "Host key verification failed" in e["message"] for e in bed.events())
    assert bed.dc2.count("orders") == 30 and root_files(repo(bed, "dc2")) == before
    sshd.known_hosts.write_text(f"[127.0.0.1]:{sshd.port} " + (tmp_path / "sshd" / "host_key.pub").read_text())
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 40


def test_a_network_cut_mid_copy_over_ssh_ends_the_copy_after_io_timeout_and_the_next_sync_completes(procs, tmp_path):
    """The path to dc2's ssh server cut while the blob phase runs: a
    FaultProxy in front of the real sshd holds every byte either way, as a
    DROP rule does (no reset, no FIN). rsync's --timeout alone
    cannot see it (its own keep-alive writes count as activity); ssh's
    keepalive, which the agent adds for sync.repository.copy.io_timeout (3s
    here), ends the copy seconds later instead of after copy.timeout (30m);
    the sync fails with ssh's reason,
    nothing is restored and dc2's root files are untouched; once the path
    heals, the next sync completes."""
    sshd = Sshd.start(procs, tmp_path / "sshd")
    proxy = FaultProxy.start(procs, sshd.port)
    cfg = sync_config(tmp_path, ssh_command=sshd.ssh_command(port=proxy.port), bandwidth_limit=100, io_timeout="3s")
    locations = cfg["sync"]["repository"]["copy"]["locations"]
    locations["dc2"] = sshd.remote(Path(locations["dc2"]))
    bed = Bed.start(procs, tmp_path, haproxy=False, separate_repos=True, agent_extra=cfg)
    bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=30, what="the first sync")
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(50))
    assert sync_now(bed).returncode == 0
    previous = bed.status()["sync"]["last_synced_snapshot"]
    before = root_files(repo(bed, "dc2"))
    write(bed.dc1, range(50, 1050), pad=1000)  # about 1 MB: at 100 KiB/s the blob phase runs for seconds

    result = {}
    t = threading.Thread(target=lambda: result.update(r=sync_now(bed)))
    t.start()
    bed.wait_status(lambda s: "(blobs)" in s["sync"]["running"], what="the blob phase")
    sent = proxy.stats()["bytes_up"]
    wait_for(lambda: proxy.stats()["bytes_up"] > sent + 100_000, 20, what="blobs flowing through ssh")
    proxy.cut("blackhole")  # open connections stall: nothing moves either way
    cut_at = time.monotonic()
    t.join(90)
    assert not t.is_alive(), "the sync did not end after the cut"
    ended_after = time.monotonic() - cut_at
    r = result["r"]
    assert r.returncode != 0, r.stdout
    s = bed.status()["sync"]
    assert s["last_result"] == "failed", s
    # ssh's keepalive (added for io_timeout) gave up waiting for the server.
    assert REMOTE_SHELL_FAILED.search(s["last_error"]), s
    assert "Timeout, server 127.0.0.1 not responding" in s["last_error"], s
    assert "(blobs phase" in s["last_error"], s
    # io_timeout (3 s) plus the agent's own steps, nowhere near copy.timeout.
    assert ended_after < 30, ended_after
    assert any(e["kind"] == "sync_failed" and "not responding" in e["message"] for e in bed.events())
    assert root_files(repo(bed, "dc2")) == before
    assert snapshots_as_read_by(bed.dc2)[-1] == previous
    assert bed.dc2.count("orders") == 50

    proxy.heal()
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 1050
    assert snapshots_as_read_by(bed.dc2) == snapshots_as_read_by(bed.dc1)


def test_sigterm_mid_copy_stops_the_agent_cleanly_and_the_next_start_syncs(procs, tmp_path):
    """SIGTERM while rsync copies: the agent stops its rsync (SIGTERM to its
    group), waits for it to exit, and exits 0 — before, it destroyed the
    sync with the copy still running and crashed ("corrupted double-linked
    list"). The target's root is untouched; restarted, the next sync
    completes."""
    bed = start(procs, tmp_path, bandwidth_limit=100)  # KiB/s: the blob phase runs for seconds
    bed.dc1.create_index("orders", shards=1, replicas=0)
    write(bed.dc1, range(50))
    assert sync_now(bed).returncode == 0
    before = root_files(repo(bed, "dc2"))
    write(bed.dc1, range(50, 1050), pad=1000)  # about 1 MB
    t = threading.Thread(target=lambda: sync_now(bed))
    t.start()
    bed.wait_status(lambda s: "(blobs)" in s["sync"]["running"], what="the blob phase")
    wait_for(lambda: rsync_pids_writing(repo(bed, "dc2")), 10, what="rsync running")
    assert bed.agent.proc.stop(grace=10) == 0, bed.agent.proc.log()[-3000:]
    t.join(30)
    log = bed.agent.proc.log()
    assert "haes-agent stopped" in log and "destroyed while" not in log, log[-3000:]
    assert "still running 4 s after the stop" not in log, log[-3000:]
    assert not rsync_pids_writing(repo(bed, "dc2"))
    assert root_files(repo(bed, "dc2")) == before
    bed.agent.extra["sync"]["repository"]["copy"].pop("bandwidth_limit")
    bed.agent.start(procs)
    r = sync_now(bed)
    assert r.returncode == 0, r.stdout
    assert bed.dc2.count("orders") == 1050
