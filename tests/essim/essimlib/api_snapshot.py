"""Snapshot create and delete, and the SnapshotService that owns the
registered repositories and the running snapshots. Snapshots copy only the
segments the repository lacks (incremental) and take simulated time
proportional to the bytes copied, so IN_PROGRESS is observable; the blobs are
written in BlobStoreRepository's order (data, shard files, metadata, root
last). Reading snapshots back (get, status) is the SnapshotReader mixin in
api_snapshot_read, restore the Restore mixin in api_restore, and the repository
and _cat endpoints are in api_repository. Shapes: ES 8 create/delete snapshot
API docs."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from essimlib.api_cluster import VERSIONS, wait_for_master
from essimlib.api_restore import Restore
from essimlib.api_snapshot_read import VERSION_ID, SnapshotReader, iso, now_ms
from essimlib.cluster import Cluster, new_uuid
from essimlib.errors import EsError, repository_missing
from essimlib.http import Request, Response
from essimlib.repository import BlobMissing, Repository, stable_id


@dataclass
class Running:
    """A snapshot being taken."""
    repo: str
    name: str
    uuid: str
    indices: list
    start_ms: int
    include_global_state: bool
    metadata: dict
    plan: dict                 # index -> {"meta", "shards": [{"segments": [...], "failed": reason|None}]}
    bytes_total: int
    bytes_new: int
    files_new: int
    files_total: int
    done: threading.Event = field(default_factory=threading.Event)
    aborted: bool = False
    info: dict = None          # final info once done


class SnapshotService(SnapshotReader, Restore):
    def __init__(self, cluster: Cluster, repo_root: Path, bytes_per_sec: float):
        self.cluster = cluster
        self.repo_root = repo_root
        self.bytes_per_sec = bytes_per_sec
        self.repos: dict = {}
        self.running: list = []
        self.lock = threading.RLock()

    # ---- helpers ----------------------------------------------------------

    def repo(self, name: str) -> Repository:
        r = self.repos.get(name)
        if r is None:
            raise repository_missing(name)
        return r

    def copy_time(self, nbytes: int) -> float:
        return 0.1 + nbytes / max(1.0, self.bytes_per_sec)

    def info(self, r: Running, state: str, end_ms: int, failures: list) -> dict:
        total = sum(len(p["shards"]) for p in r.plan.values())
        failed = len(failures)
        body = {"snapshot": r.name, "uuid": r.uuid, "repository": r.repo,
                "version_id": VERSION_ID[self.cluster.flavor],
                "version": VERSIONS[self.cluster.flavor]["number"],
                "indices": r.indices, "data_streams": [],
                "include_global_state": r.include_global_state, "state": state,
                "start_time": iso(r.start_ms), "start_time_in_millis": r.start_ms,
                "end_time": iso(end_ms), "end_time_in_millis": end_ms,
                "duration_in_millis": max(0, end_ms - r.start_ms),
                "failures": failures,
                "shards": {"total": total, "failed": failed, "successful": total - failed},
                "feature_states": []}
        if r.metadata:
            body["metadata"] = r.metadata
        if self.cluster.flavor == "opensearch2":
            body.pop("repository")
        return body

    # ---- create -----------------------------------------------------------

    def create(self, req: Request, repo_name: str, snap: str) -> Response:
        cluster = self.cluster
        wait_for_master(cluster, req)
        repo = self.repo(repo_name)
        body = req.json({}) or {}
        if repo.readonly:
            raise EsError(500, "repository_exception", f"[{repo_name}] cannot create snapshot in a readonly repository")
        with repo.lock:
            repo.check()
            if snap != snap.lower() or any(c in snap for c in '\\/*?"<>| ,#') or snap.startswith("_"):
                raise EsError(400, "invalid_snapshot_name_exception",
                              f"[{repo_name}:{snap}] Invalid snapshot name [{snap}], must be lowercase")
            root = repo.data()
            existing = [s["name"] for s in root["snapshots"]] + [r.name for r in self.running if r.repo == repo_name]
            if snap in existing:
                raise EsError(400, "invalid_snapshot_name_exception",
                              f"[{repo_name}:{snap}] Invalid snapshot name [{snap}], snapshot with the same name already exists")
            limit = cluster.settings.int("snapshot.max_concurrent_operations")
            if len(self.running) >= limit:
                raise EsError(503, "concurrent_snapshot_execution_exception",
                              f"[{repo_name}:{snap}] Cannot start another operation, already running "
                              f"[{len(self.running)}] operations and the current limit for concurrent "
                              f"snapshot operations is set to [{limit}]")
            snap_uuid = new_uuid()
            with cluster.lock:
                spec = body.get("indices", "*")
                expr = ",".join(spec) if isinstance(spec, list) else spec
                names = cluster.resolve(expr, allow_missing=bool(body.get("ignore_unavailable")))
                partial = bool(body.get("partial", False))
                missing = [n for n in names if not all(cluster.primary_active(sh) for sh in cluster.indices[n].shards)]
                if missing and not partial:
                    raise EsError(500, "snapshot_exception",
                                  f"[{repo_name}:{snap}/{snap_uuid}] Indices don't have primary shards {fmt_list(missing)}")
                plan, b_total, b_new, f_total, f_new = {}, 0, 0, 0, 0
                for n in names:
                    idx = cluster.indices[n]
                    index_id = repo.index_id(root, n)
                    shards = []
                    for sh in idx.shards:
                        if not cluster.primary_active(sh):
                            shards.append({"segments": [], "failed": "primary shard is not allocated"})
                            continue
                        sh.seal()  # a snapshot flushes the shard first
                        segs = [{"id": s.seg_id, "size": s.size, "ops": s.ops} for s in sh.segments]
                        new_files, new_bytes = 0, 0
                        for s in segs:
                            f_total += 1
                            b_total += s["size"]
                            if not repo.blob_exists(f"{repo.shard_dir(index_id, sh.number)}/{repo.data_blob(s['id'])}"):
                                new_files += 1
                                new_bytes += s["size"]
                        f_new += new_files
                        b_new += new_bytes
                        shards.append({"segments": segs, "failed": None, "new_files": new_files,
                                       "new_bytes": new_bytes})
                    plan[n] = {"id": index_id,
                               "meta": {"uuid": idx.uuid, "shards": len(idx.shards), "replicas": idx.replicas,
                                        "aliases": idx.aliases, "hidden": idx.hidden,
                                        "blocks": dict(idx.blocks), "creation_date": idx.creation_date},
                               "shards": shards}
                    idx.snapshotting += 1
            run = Running(repo_name, snap, snap_uuid, names, now_ms(),
                          bool(body.get("include_global_state", True)), body.get("metadata") or {},
                          plan, b_total, b_new, f_new, f_total)
            self.running.append(run)
        threading.Thread(target=self._finish, args=(repo, run), daemon=True).start()
        if req.flag("wait_for_completion"):
            run.done.wait()
            return Response(200, {"snapshot": run.info})
        return Response(200, {"accepted": True})

    def _finish(self, repo: Repository, run: Running) -> None:
        deadline = time.monotonic() + self.copy_time(run.bytes_new)
        while time.monotonic() < deadline and not run.aborted:
            time.sleep(0.01)
        failures = []
        for n, p in run.plan.items():
            for i, sh in enumerate(p["shards"]):
                if sh["failed"]:
                    failures.append({"index": n, "index_uuid": p["meta"]["uuid"], "shard_id": i,
                                     "reason": sh["failed"], "node_id": self.cluster.nodes[0].node_id,
                                     "status": "INTERNAL_SERVER_ERROR"})
        state = "PARTIAL" if failures else "SUCCESS"
        try:
            with repo.lock:
                if run.aborted:
                    state = "FAILED"
                    raise RuntimeError("aborted")
                repo.check()
                root = repo.data()
                end = now_ms()
                stale_gens = self._write_shards(repo, root, run, end)
                lookup = {}
                for n, p in run.plan.items():
                    # Index metadata, deduplicated by content (ES: index_metadata_identifiers).
                    blob_id = stable_id(json.dumps(p["meta"], sort_keys=True))
                    rel = f"indices/{p['id']}/meta-{blob_id}.dat"
                    if not repo.blob_exists(rel):
                        repo.write_blob(rel, p["meta"])
                    lookup[p["id"]] = blob_id
                repo.write_blob(f"meta-{run.uuid}.dat",
                                {"cluster_uuid": self.cluster.uuid,
                                 "persistent_settings": dict(self.cluster.settings.persistent)})
                info = self.info(run, state, end, failures)
                repo.write_blob(f"snap-{run.uuid}.dat", info)
                # The root last: only now does the snapshot exist.
                root["snapshots"].append({"name": run.name, "uuid": run.uuid, "state": state,
                                          "index_metadata_lookup": lookup,
                                          "version": VERSIONS[self.cluster.flavor]["number"],
                                          "start_time_millis": run.start_ms, "end_time_millis": end})
                if root.get("cluster_id", "_na_") == "_na_":
                    root["cluster_id"] = self.cluster.uuid
                repo.commit(root)
                for rel in stale_gens:
                    repo.delete_blob(rel)
                run.info = info
        except (EsError, RuntimeError, OSError) as e:
            run.info = self.info(run, "FAILED", now_ms(), failures)
            run.info["reason"] = getattr(e, "reason", str(e))
        finally:
            with self.cluster.lock:
                for n in run.plan:
                    if n in self.cluster.indices:
                        self.cluster.indices[n].snapshotting -= 1
            with self.lock:
                if run in self.running:
                    self.running.remove(run)
            run.done.set()

    @staticmethod
    def _write_shards(repo: Repository, root: dict, run: Running, end: int) -> list:
        """Data blobs, then each shard's snap-<uuid>.dat, then its new
        generation file; records the generations in the root (not yet
        written). Returns the shard generation files the new root replaces."""
        stale = []
        for n, p in run.plan.items():
            entry = root["indices"].setdefault(n, {"id": p["id"], "snapshots": [], "shard_generations": []})
            gens = entry["shard_generations"]
            gens += [None] * (len(p["shards"]) - len(gens))
            for i, sh in enumerate(p["shards"]):
                if sh["failed"]:
                    continue
                shard_dir = repo.shard_dir(p["id"], i)
                files = []
                for seg in sh["segments"]:
                    blob = repo.data_blob(seg["id"])
                    if not repo.blob_exists(f"{shard_dir}/{blob}"):
                        repo.write_blob(f"{shard_dir}/{blob}", {"ops": seg["ops"]})
                    files.append({"name": blob, "physical_name": seg["id"], "length": seg["size"]})
                repo.write_blob(f"{shard_dir}/snap-{run.uuid}.dat", {
                    "name": run.name, "index_version": 8512000, "start_time": run.start_ms,
                    "time": end - run.start_ms, "number_of_files": len(files),
                    "total_size": sum(f["length"] for f in files),
                    "incremental_file_count": sh["new_files"], "incremental_size": sh["new_bytes"],
                    "files": files})
                previous = {"snapshots": []}
                if gens[i]:
                    try:
                        previous = repo.read_blob(f"{shard_dir}/index-{gens[i]}")
                    except BlobMissing:
                        pass
                    stale.append(f"{shard_dir}/index-{gens[i]}")
                new_gen = new_uuid()
                repo.write_blob(f"{shard_dir}/index-{new_gen}", {"snapshots": previous["snapshots"] + [
                    {"snapshot": run.name, "uuid": run.uuid, "files": [f["name"] for f in files]}]})
                gens[i] = new_gen
            entry["snapshots"].append(run.uuid)
        return stale

    # ---- delete ----------------------------------------------------------------

    def delete(self, req: Request, repo_name: str, snap: str) -> Response:
        repo = self.repo(repo_name)
        if repo.readonly:
            raise EsError(500, "repository_exception", f"[{repo_name}] cannot delete snapshot from a readonly repository")
        repo.check()
        stored, running = self.select(repo, repo.data(), snap, False)
        for r in running:
            r.aborted = True
            r.done.wait()
        with repo.lock:
            repo.check()
            root = repo.data()
            doomed = {s["uuid"] for s in stored}
            keep = [s for s in root["snapshots"] if s["uuid"] not in doomed]
            garbage = [f"snap-{u}.dat" for u in doomed] + [f"meta-{u}.dat" for u in doomed]
            kept_meta = {(iid, blob) for s in keep for iid, blob in s.get("index_metadata_lookup", {}).items()}
            for n, entry in list(root["indices"].items()):
                if not doomed & set(entry["snapshots"]):
                    continue
                remaining = [u for u in entry["snapshots"] if u not in doomed]
                index_id = entry["id"]
                for s in root["snapshots"]:
                    blob = s.get("index_metadata_lookup", {}).get(index_id)
                    if s["uuid"] in doomed and blob and (index_id, blob) not in kept_meta:
                        garbage.append(f"indices/{index_id}/meta-{blob}.dat")
                if not remaining:
                    del root["indices"][n]
                    garbage.append(f"indices/{index_id}")
                    continue
                # New shard generations listing only what remains (written
                # before the root that names them).
                for i, gen in enumerate(entry["shard_generations"]):
                    if not gen:
                        continue
                    shard_dir = repo.shard_dir(index_id, i)
                    try:
                        shard_gen = repo.read_blob(f"{shard_dir}/index-{gen}")
                    except BlobMissing:
                        continue
                    left = [x for x in shard_gen["snapshots"] if x["uuid"] not in doomed]
                    used = {f for x in left for f in x["files"]}
                    for x in shard_gen["snapshots"]:
                        if x["uuid"] in doomed:
                            garbage.append(f"{shard_dir}/snap-{x['uuid']}.dat")
                            garbage += [f"{shard_dir}/{f}" for f in x["files"] if f not in used]
                    new_gen = new_uuid()
                    repo.write_blob(f"{shard_dir}/index-{new_gen}", {"snapshots": left})
                    garbage.append(f"{shard_dir}/index-{gen}")
                    entry["shard_generations"][i] = new_gen
                entry["snapshots"] = remaining
            root["snapshots"] = keep
            repo.commit(root)
            for rel in garbage:
                if rel.startswith("indices/") and rel.count("/") == 1:
                    repo.delete_tree(rel)
                else:
                    repo.delete_blob(rel)
        return Response(200, {"acknowledged": True})


def register(router, cluster: Cluster, service: SnapshotService) -> None:
    """The snapshot routes; api_repository's (repositories, _verify, _cat) go first."""
    router.add("PUT|POST", "/_snapshot/{repo}/{snap}", lambda req, repo, snap: service.create(req, repo, snap), "snapshot.create")
    router.add("GET", "/_snapshot/{repo}/{snap}", lambda req, repo, snap: service.get(req, repo, snap), "snapshot.get")
    router.add("DELETE", "/_snapshot/{repo}/{snap}", lambda req, repo, snap: service.delete(req, repo, snap), "snapshot.delete")
    router.add("GET", "/_snapshot/{repo}/{snap}/_status", lambda req, repo, snap: service.status(req, repo, snap), "snapshot.status")
    router.add("POST", "/_snapshot/{repo}/{snap}/_restore", lambda req, repo, snap: service.restore(req, repo, snap), "snapshot.restore")


def fmt_list(names: list) -> str:
    return "[" + ", ".join(names) + "]"

