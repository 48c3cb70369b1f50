"""A shared-file-system snapshot repository, as real files two essim
processes (two clusters) can both read.

Layout under the repository's location:

    index.latest          the current generation N (text)
    index-N               {"generation", "uuid", "snapshots": [summary...]}
    snap-<uuid>.json      one snapshot: indices, their metadata, shard segments, state
    segments/<id>.json    one segment: the operations it holds (shared by every
                          snapshot that references it: snapshots are incremental)

A writing registration remembers the generation it last wrote or read. If it
finds another one (someone else wrote), it disables the repository the way ES
does, until the repository is registered again with other settings, or deleted
and registered again (a PUT with the same settings changes nothing, as in ES). A readonly registration
re-reads the generation every time and never writes.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from essimlib.cluster import new_uuid
from essimlib.errors import EsError

CORRUPTED = ("Could not read repository data because the contents of the repository do not match its "
             "expected state. This is likely the result of either concurrently modifying the contents "
             "of the repository by a process other than this cluster or an issue with the repository's "
             "underlying storage. The repository has been disabled to prevent corrupting its contents. "
             "To re-enable it and continue using it please remove the repository from the cluster and "
             "add it again to make the cluster recover the known state of the repository from its "
             "physical contents.")


def write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "w") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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

    # ---- generations -------------------------------------------------------

    def latest(self) -> int:
        try:
            return int((self.location / "index.latest").read_text().strip())
        except (FileNotFoundError, ValueError):
            return -1

    def check(self) -> None:
        """Raises ES's error if this registration found a foreign write.

        Under the lock: a check that read index.latest between this
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
        gen = self.latest()
        if gen < 0:
            return {"generation": -1, "uuid": "_na_", "snapshots": []}
        return json.loads((self.location / f"index-{gen}").read_text())

    def commit(self, data: dict) -> None:
        """Writes the next generation (index-N+1, then index.latest)."""
        with self.lock:
            self.check()
            gen = self.latest() + 1
            data = dict(data, generation=gen)
            if data.get("uuid", "_na_") == "_na_":
                data["uuid"] = new_uuid()
            write_atomic(self.location / f"index-{gen}", json.dumps(data))
            write_atomic(self.location / "index.latest", str(gen))
            self.expected_gen = gen

    def uuid(self) -> str:
        return self.data().get("uuid", "_na_")

    # ---- blobs --------------------------------------------------------------

    def has_segment(self, seg_id: str) -> bool:
        return (self.location / "segments" / f"{seg_id}.json").exists()

    def write_segment(self, seg_id: str, ops: list) -> None:
        (self.location / "segments").mkdir(parents=True, exist_ok=True)
        write_atomic(self.location / "segments" / f"{seg_id}.json", json.dumps({"ops": ops}))

    def read_segment(self, seg_id: str) -> list:
        return json.loads((self.location / "segments" / f"{seg_id}.json").read_text())["ops"]

    def write_snapshot(self, info: dict) -> None:
        write_atomic(self.location / f"snap-{info['uuid']}.json", json.dumps(info))

    def read_snapshot(self, snap_uuid: str) -> dict:
        return json.loads((self.location / f"snap-{snap_uuid}.json").read_text())

    def delete_snapshot_files(self, snap_uuid: str, keep_segments: set) -> None:
        info = self.read_snapshot(snap_uuid)
        for idx in info["indices_detail"].values():
            for shard in idx["shards"]:
                for seg in shard["segments"]:
                    if seg["id"] not in keep_segments:
                        try:
                            (self.location / "segments" / f"{seg['id']}.json").unlink()
                        except FileNotFoundError:
                            pass
        (self.location / f"snap-{snap_uuid}.json").unlink(missing_ok=True)


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
