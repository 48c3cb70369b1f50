"""A repository copied by another program (rsync) from one cluster's
path.repo into another's, read as ES reads it: the root (the highest
index-N) decides which snapshots exist and is read again on every call; a
root that names a snapshot whose blobs have not arrived is refused the way
ES refuses it (BlobStoreRepository: a missing snap-*.dat or index metadata
blob is SnapshotMissingException, 404; a missing shard file fails that
shard's recovery: the restore answers 200 with failed shards, the index is
red)."""

import subprocess
from pathlib import Path

import pytest

from haestest.essim import EssimCluster

ROOT_FILES = ["--exclude=/index-*", "--exclude=/index.latest"]


def rsync(src: Path, dst: Path, *options: str) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rsync", "-a", *options, f"{src}/", f"{dst}/"], check=True, timeout=60)


def sync_blobs_then_root(src: Path, dst: Path) -> None:
    """The order a sync must use: immutable blobs first (never deleting), then
    the root files, deleting what the new root no longer names."""
    rsync(src, dst, *ROOT_FILES)
    rsync(src, dst, "--delete")


@pytest.fixture
def two_sites(procs, tmp_path):
    """Two clusters with their own path.repo: nothing shared but what is copied."""
    a = EssimCluster.start(procs, "dc1", nodes=2, repo_root=tmp_path / "site-a")
    b = EssimCluster.start(procs, "dc2", nodes=2, repo_root=tmp_path / "site-b")
    assert a.ok("PUT", "/_snapshot/haes", {"type": "fs", "settings": {"location": "haes"}})
    assert b.ok("PUT", "/_snapshot/haes", {"type": "fs", "settings": {"location": "haes", "readonly": True}})
    return a, b, tmp_path / "site-a" / "haes", tmp_path / "site-b" / "haes"


def snapshot(cluster, name):
    out = cluster.ok("PUT", f"/_snapshot/haes/{name}?wait_for_completion=true", {"indices": "logs"})
    assert out["snapshot"]["state"] == "SUCCESS"
    return out["snapshot"]["uuid"]


def test_rsync_blobs_first_then_root_and_restore_there(two_sites):
    a, b, src, dst = two_sites
    a.create_index("logs", shards=2)
    a.bulk_index("logs", {i: {"n": i} for i in range(50)})
    snapshot(a, "s1")
    assert b.ok("GET", "/_snapshot/haes/_all")["snapshots"] == []
    sync_blobs_then_root(src, dst)
    # no re-registration: the root is read again on every listing
    assert [s["snapshot"] for s in b.ok("GET", "/_snapshot/haes/_all")["snapshots"]] == ["s1"]
    assert b.ok("GET", "/_snapshot/haes")["haes"]["uuid"] == a.ok("GET", "/_snapshot/haes")["haes"]["uuid"]
    out = b.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})
    assert out["snapshot"]["shards"] == {"total": 2, "failed": 0, "successful": 2}
    assert b.count("logs") == 50
    # the next round: an incremental snapshot, the old one deleted at the source
    a.bulk_index("logs", {i: {"n": i} for i in range(50, 80)})
    snapshot(a, "s2")
    a.ok("DELETE", "/_snapshot/haes/s1")
    rsync(src, dst, *ROOT_FILES)  # blobs only: the destination still shows the old root
    assert [s["snapshot"] for s in b.ok("GET", "/_snapshot/haes/_all")["snapshots"]] == ["s1"]
    b.ok("POST", "/logs/_close")
    assert b.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})["snapshot"]["shards"]["failed"] == 0
    rsync(src, dst, "--delete")
    assert [s["snapshot"] for s in b.ok("GET", "/_snapshot/haes/_all")["snapshots"]] == ["s2"]
    b.ok("POST", "/logs/_close")
    out = b.ok("POST", "/_snapshot/haes/s2/_restore?wait_for_completion=true", {})
    assert out["snapshot"]["shards"]["failed"] == 0
    assert b.count("logs") == 80
    st = b.ok("GET", "/_snapshot/haes/s2/_status")["snapshots"][0]
    assert st["stats"]["total"]["file_count"] > st["stats"]["incremental"]["file_count"] > 0
    assert sorted(p.name for p in dst.iterdir() if p.name.startswith("index")) == \
        sorted(p.name for p in src.iterdir() if p.name.startswith("index"))


def test_a_root_that_arrived_before_the_snapshot_blob_is_refused(two_sites):
    a, b, src, dst = two_sites
    a.create_index("logs", shards=1)
    a.bulk_index("logs", {i: {"n": i} for i in range(10)})
    uuid = snapshot(a, "s1")
    rsync(src, dst, "--exclude=/snap-*.dat")  # the root arrived, snap-<uuid>.dat did not
    status, err = b.es("GET", "/_snapshot/haes/s1")
    assert status == 404 and err["error"]["type"] == "snapshot_missing_exception"
    assert err["error"]["reason"] == f"[haes:s1/{uuid}] is missing"
    assert err["error"]["caused_by"]["type"] == "no_such_file_exception"
    assert err["error"]["caused_by"]["reason"].endswith(f"snap-{uuid}.dat")
    assert b.es("GET", "/_snapshot/haes/_all")[0] == 404
    assert b.ok("GET", "/_snapshot/haes/_all?ignore_unavailable=true")["snapshots"] == []
    # verbose=false answers from the root alone
    brief = b.ok("GET", "/_snapshot/haes/_all?verbose=false")["snapshots"]
    assert [(s["snapshot"], s["state"], s["indices"]) for s in brief] == [("s1", "SUCCESS", ["logs"])]
    status, err = b.es("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})
    assert status == 404 and err["error"]["type"] == "snapshot_missing_exception"
    assert err["error"]["reason"] == f"[haes:s1/{uuid}] is missing"
    assert b.es("GET", "/logs")[0] == 404  # nothing restored
    rsync(src, dst)  # the blob arrives
    assert b.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})["snapshot"]["shards"]["failed"] == 0
    assert b.count("logs") == 10


def test_missing_index_metadata_or_shard_files_fail_as_in_es(two_sites):
    a, b, src, dst = two_sites
    a.create_index("logs", shards=2)
    a.bulk_index("logs", {i: {"n": i} for i in range(40)})
    uuid = snapshot(a, "s1")
    rsync(src, dst, "--exclude=/indices/*/meta-*.dat", "--exclude=/indices/*/0/__*")
    assert b.ok("GET", "/_snapshot/haes/s1")["snapshots"][0]["state"] == "SUCCESS"  # snap-*.dat is there
    status, err = b.es("POST", "/_snapshot/haes/s1/_restore", {})
    assert status == 404 and err["error"]["reason"] == f"[haes:s1/{uuid}] is missing"
    assert "/meta-" in err["error"]["caused_by"]["reason"]
    # now every metadata blob but one shard's data blobs
    rsync(src, dst, "--exclude=/indices/*/0/__*")
    out = b.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})
    assert out["snapshot"]["shards"] == {"total": 2, "failed": 1, "successful": 1}
    assert b.health(level="indices")["indices"]["logs"]["status"] == "red"
    status, err = b.es("GET", "/_snapshot/haes/s1/_status")
    assert status == 200  # shard-level snap files are all there
    for f in dst.glob("indices/*/1/snap-*.dat"):
        f.unlink()  # as if that shard file had not arrived yet
    status, err = b.es("GET", "/_snapshot/haes/s1/_status")
    assert status == 404 and err["error"]["type"] == "snapshot_missing_exception"


# The root-file phase haes's copy uses (agent/sync/copy_plan.cpp, kRoot).
ROOT_ONLY = ["--include=/index-*", "--include=/index.latest", "--exclude=*", "--checksum", "--delete-after"]


def test_a_copied_root_replaces_a_higher_generation_the_target_wrote_itself(two_sites):
    """After a failover the old active side's repository has a higher
    index-N of its own; the copy from the new active side replaces the root
    files (deleting the stale higher one), and the readonly registration
    reads the copied root, not its own old one."""
    a, b, src, dst = two_sites
    a.create_index("logs", shards=1)
    a.bulk_index("logs", {i: {"n": i} for i in range(10)})
    snapshot(a, "s1")
    rsync(src, dst, *ROOT_FILES)
    rsync(src, dst, *ROOT_ONLY)
    # b writes its own repository for a while (it was the active side)
    assert b.ok("PUT", "/_snapshot/haes", {"type": "fs", "settings": {"location": "haes"}})
    b.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})
    snapshot(b, "b1")
    snapshot(b, "b2")
    assert max(int(p.name[6:]) for p in dst.glob("index-[0-9]*")) == 2
    # a becomes the writer again, b readonly, and a's root is copied over b's
    assert b.ok("PUT", "/_snapshot/haes", {"type": "fs", "settings": {"location": "haes", "readonly": True}})
    a.bulk_index("logs", {i: {"n": i} for i in range(10, 15)})
    snapshot(a, "s2")
    rsync(src, dst, *ROOT_FILES)
    assert [s["snapshot"] for s in b.ok("GET", "/_snapshot/haes/_all")["snapshots"]] == ["s1", "b1", "b2"]
    rsync(src, dst, *ROOT_ONLY)
    assert sorted(p.name for p in dst.glob("index*")) == sorted(p.name for p in src.glob("index*"))
    assert [s["snapshot"] for s in b.ok("GET", "/_snapshot/haes/_all")["snapshots"]] == ["s1", "s2"]
    b.ok("POST", "/logs/_close")
    assert b.ok("POST", "/_snapshot/haes/s2/_restore?wait_for_completion=true", {})["snapshot"]["shards"]["failed"] == 0
    assert b.count("logs") == 15
