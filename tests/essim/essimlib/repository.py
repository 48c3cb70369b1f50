"""A shared-file-system snapshot repository laid out as ES's BlobStoreRepository
lays it out, as real files that another cluster, or a copy made by another
program (rsync), can read.

Layout under the repository's location (contents are JSON, not ES's SMILE):

    index-N                     root (RepositoryData): snapshots, their indices, shard
                                generations. The highest N present is the current one.
    index.latest                N, written after index-N (ES reads it only where it
                                cannot list; essim, like ES on fs, lists)
    snap-<snapshot-uuid>.dat    SnapshotInfo: what GET /_snapshot answers
    meta-<snapshot-uuid>.dat    the snapshot's global metadata
    indices/<index-id>/meta-<blob-id>.dat        one index's metadata (deduplicated)
    indices/<index-id>/<shard>/__<segment-id>    a data blob: one segment's operations
    indices/<index-id>/<shard>/snap-<uuid>.dat   one snapshot of the shard: its files
    indices/<index-id>/<shard>/index-<gen>       the shard's generation: every snapshot
                                                 of the shard and its files

Everything but the root files is written once and never changed; a snapshot
writes its blobs first and its root file (index-N, then index.latest) last,
and a deletion writes the new root before it removes what nothing references
any more. So a copy that moves blobs first and root files last is always a
consistent repository at its destination. Every listing and restore reads the
root again (no cache): files copied in by another program are seen at once.

A writing registration remembers the generation it last wrote or read. If it
finds another one (someone else wrote), it disables the repository the way ES
does, until the repository is registered again with other settings, or deleted
and registered again (a PUT with the same settings changes nothing, as in ES).
A readonly registration re-reads the generation every time and never writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from essimlib.cluster import new_uuid
from essimlib.errors import EsError

CORRUPTED = ("Could not read repository data because the contents of the repository do not match its "
             "expected state. This is likely the result of either concurrently modifying the contents "
             "of the repository by a process other than this cluster or an issue with the repository's "
             "underlying storage. The repository has been disabled to prevent corrupting its contents. "
             "To re-enable it and continue using it please remove the repository from the cluster and "
             "add it again to make the cluster recover the known state of the repository from its "
             "physical contents.")

ROOT_GEN = re.compile(r"^index-(\d+)$")


class BlobMissing(FileNotFoundError):
    """A blob the repository's root names is not there (ES: NoSuchFileException)."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


def write_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def stable_id(*parts: str) -> str:
    """A 22-character id derived from its parts (the same index name always
    gets the same directory, so concurrent snapshots agree on it)."""
    digest = hashlib.sha1("\0".join(parts).encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def empty_root() -> dict:
    return {"uuid": "_na_", "cluster_id": "_na_", "snapshots": [], "indices": {}}


@dataclass
class Repository:
    name: str
    rtype: str
    settings: dict          # as registered (for GET)
    location: Path
    readonly: bool
    expected_gen: int = -1  # writer: the generation it knows
    corrupted: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ---- root generations ---------------------------------------------------

    def latest(self) -> int:
        """The highest index-N present (BlobStoreRepository.latestIndexBlobId
        lists them on fs), -1 for an empty repository."""
        try:
            names = os.listdir(self.location)
        except FileNotFoundError:
            return -1
        gens = [int(m.group(1)) for m in map(ROOT_GEN.match, names) if m]
        return max(gens, default=-1)

    def check(self) -> None:
        """Raises ES's error if this registration found a foreign write.

        Under the lock: a check that read the generation between this
        registration's own commit writing it and recording expected_gen
        would take our own write for a foreign one."""
        if self.readonly:
            return
        with self.lock:
            if not self.corrupted and self.latest() != self.expected_gen:
                self.corrupted = True
            if self.corrupted:
                raise EsError(500, "repository_exception", f"[{self.name}] {CORRUPTED}")

    def data(self) -> dict:
        """The current root, read from disk every time."""
        for _ in range(3):
            gen = self.latest()
            if gen < 0:
                return empty_root()
            try:
                root = json.loads((self.location / f"index-{gen}").read_text())
            except FileNotFoundError:
                continue  # replaced by a newer generation meanwhile
            for key, value in empty_root().items():
                root.setdefault(key, value)
            return root
        raise EsError(500, "repository_exception", f"[{self.name}] concurrent modification of the index-N file")

    def commit(self, root: dict) -> None:
        """Writes the next root generation: index-(N+1), then index.latest;
        keeps the previous index-N as ES does, removes older ones."""
        with self.lock:
            self.check()
            gen = self.latest() + 1
            root = {k: v for k, v in root.items() if k != "generation"}
            if root.get("uuid", "_na_") == "_na_":
                root["uuid"] = new_uuid()
            write_atomic(self.location / f"index-{gen}", json.dumps(root))
            write_atomic(self.location / "index.latest", str(gen))
            self.expected_gen = gen
            for old in range(max(0, gen - 10), gen - 1):
                (self.location / f"index-{old}").unlink(missing_ok=True)

    def uuid(self) -> str:
        return self.data().get("uuid", "_na_")

    # ---- blobs --------------------------------------------------------------

    def blob_exists(self, rel: str) -> bool:
        return (self.location / rel).exists()

    def write_blob(self, rel: str, obj) -> None:
        write_atomic(self.location / rel, json.dumps(obj))

    def read_blob(self, rel: str):
        path = self.location / rel
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise BlobMissing(path) from None

    def delete_blob(self, rel: str) -> None:
        (self.location / rel).unlink(missing_ok=True)

    def delete_tree(self, rel: str) -> None:
        shutil.rmtree(self.location / rel, ignore_errors=True)

    @staticmethod
    def shard_dir(index_id: str, shard: int) -> str:
        return f"indices/{index_id}/{shard}"

    @staticmethod
    def data_blob(seg_id: str) -> str:
        return f"__{seg_id}"

    def index_id(self, root: dict, index: str) -> str:
        entry = root["indices"].get(index)
        return entry["id"] if entry else stable_id(index)


def snapshot_missing_blob(repo: str, snap: str, snap_uuid: str, missing: BlobMissing) -> EsError:
    """SnapshotMissingException wrapping the NoSuchFileException."""
    return EsError(404, "snapshot_missing_exception", f"[{repo}:{snap}/{snap_uuid}] is missing",
                   caused_by={"type": "no_such_file_exception", "reason": str(missing.path)})


def register(repos: dict, repo_root: Path, name: str, body: dict, node_id: str) -> Repository:
    if not isinstance(body, dict) or "type" not in body:
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: type is missing;")
    rtype = body["type"]
    settings = body.get("settings") or {}
    if rtype != "fs":
        raise EsError(500, "repository_exception", f"[{name}] repository type [{rtype}] does not exist")
    loc = settings.get("location")
    if not loc:
        raise EsError(500, "repository_exception", f"[{name}] missing location",
                      caused_by={"type": "repository_exception", "reason": f"[{name}] missing location"})
    location = (repo_root / loc).resolve() if not os.path.isabs(loc) else Path(loc).resolve()
    root = repo_root.resolve()
    if location != root and root not in location.parents:
        reason = (f"[{name}] location [{loc}] doesn't match any of the locations specified by path.repo"
                  + ("" if str(repo_root) else " because this setting is empty"))
        raise EsError(500, "repository_exception", f"[{name}] failed to create repository",
                      caused_by={"type": "repository_exception", "reason": reason})
    readonly = str(settings.get("readonly", "false")).lower() == "true"
    if not readonly:
        location.mkdir(parents=True, exist_ok=True)
    repo = Repository(name, rtype, {k: str(v).lower() if isinstance(v, bool) else str(v)
                                    for k, v in settings.items()}, location, readonly)
    old = repos.get(name)
    if old is not None and old.rtype == repo.rtype and old.settings == repo.settings:
        # ES: "Previous version is the same as this one no update is needed":
        # the registration, and a disabled state, stay. Only DELETE + PUT, or
        # a PUT with other settings, makes it re-read the repository.
        return old
    repo.expected_gen = repo.latest()
    repos[name] = repo
    return repo
