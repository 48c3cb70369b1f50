"""Snapshot endpoints: repositories, snapshot create/get/status/delete,
restore. Snapshots copy only the segments the repository lacks (incremental)
and take simulated time proportional to the bytes copied, so IN_PROGRESS is
observable. Shapes: ES 8 create/get/status/restore snapshot API docs."""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from essimlib.api_cluster import VERSIONS, wait_for_master
from essimlib.cluster import Cluster, Index, Segment, Shard, new_uuid
from essimlib.errors import EsError, index_not_found, repository_missing, snapshot_missing
from essimlib.http import Request, Response
from essimlib.repository import Repository, register as register_repository

VERSION_ID = {"es8": 8170099, "es7": 7172599, "opensearch2": 136327827}


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


class SnapshotService:
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
            existing = [s["name"] for s in repo.data()["snapshots"]] + [r.name for r in self.running if r.repo == repo_name]
            if snap in existing:
                raise EsError(400, "invalid_snapshot_name_exception",
                              f"[{repo_name}:{snap}] Invalid snapshot name [{snap}], snapshot with the same name already exists")
            limit = int(cluster.persistent.get("snapshot.max_concurrent_operations", 1000))
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
                    shards = []
                    for sh in idx.shards:
                        if not cluster.primary_active(sh):
                            shards.append({"segments": [], "failed": "primary shard is not allocated"})
                            continue
                        sh.seal()  # a snapshot flushes the shard first
                        segs = [{"id": s.seg_id, "size": s.size, "ops": s.ops} for s in sh.segments]
                        for s in segs:
                            f_total += 1
                            b_total += s["size"]
                            if not repo.has_segment(s["id"]):
                                f_new += 1
                                b_new += s["size"]
                        shards.append({"segments": segs, "failed": None})
                    plan[n] = {"meta": {"uuid": idx.uuid, "shards": len(idx.shards), "replicas": idx.replicas,
                                        "aliases": idx.aliases, "hidden": idx.hidden,
                                        "blocks": dict(idx.blocks)}, "shards": shards}
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
                for p in run.plan.values():
                    for sh in p["shards"]:
                        for seg in sh["segments"]:
                            if not repo.has_segment(seg["id"]):
                                repo.write_segment(seg["id"], seg["ops"])
                end = now_ms()
                info = self.info(run, state, end, failures)
                detail = {n: {"meta": p["meta"], "shards": [{"segments": [{"id": s["id"], "size": s["size"]}
                                                                          for s in sh["segments"]],
                                                             "failed": sh["failed"]} for sh in p["shards"]]}
                          for n, p in run.plan.items()}
                stats = {"bytes_total": run.bytes_total, "bytes_new": run.bytes_new,
                         "files_total": run.files_total, "files_new": run.files_new}
                repo.write_snapshot(dict(info, indices_detail=detail, stats=stats))
                data = repo.data()
                data["snapshots"].append({"name": run.name, "uuid": run.uuid, "state": state,
                                          "indices": run.indices, "start_ms": run.start_ms, "end_ms": end})
                repo.commit(data)
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

    # ---- get / status / delete ----------------------------------------------

    def select(self, repo: Repository, spec: str, ignore_unavailable: bool) -> tuple:
        """(stored snapshot summaries, running snapshots) named by spec."""
        stored = repo.data()["snapshots"]
        # A snapshot just committed is still in self.running until _finish
        # ends: list it once, as stored.
        done = {s["uuid"] for s in stored}
        running = [r for r in list(self.running) if r.repo == repo.name and r.uuid not in done]
        if spec == "_current":
            return [], running
        if spec in ("_all", "*"):
            return stored, running
        out_s, out_r = [], []
        for name in spec.split(","):
            s = [x for x in stored if match(name, x["name"])]
            r = [x for x in running if match(name, x.name)]
            if not s and not r and "*" not in name and not ignore_unavailable:
                raise snapshot_missing(repo.name, name)
            out_s += s
            out_r += r
        return out_s, out_r

    def get(self, req: Request, repo_name: str, snap: str) -> Response:
        repo = self.repo(repo_name)
        repo.check()
        stored, running = self.select(repo, snap, req.flag("ignore_unavailable"))
        infos = [repo.read_snapshot(s["uuid"]) for s in stored]
        for i in infos:
            i.pop("indices_detail", None)
            i.pop("stats", None)
        for r in running:
            infos.append({"snapshot": r.name, "uuid": r.uuid, "repository": r.repo,
                          "version_id": VERSION_ID[self.cluster.flavor],
                          "version": VERSIONS[self.cluster.flavor]["number"], "indices": r.indices,
                          "data_streams": [], "include_global_state": r.include_global_state,
                          "state": "IN_PROGRESS", "start_time": iso(r.start_ms),
                          "start_time_in_millis": r.start_ms, "failures": [],
                          "shards": {"total": 0, "failed": 0, "successful": 0}, "feature_states": []})
        if not req.flag("verbose", True):
            infos = [{k: i[k] for k in ("snapshot", "uuid", "indices", "data_streams", "state")} for i in infos]
        infos.sort(key=lambda i: i.get("start_time_in_millis", 0))
        if self.cluster.flavor == "es8":
            return Response(200, {"snapshots": infos, "total": len(infos), "remaining": 0})
        return Response(200, {"snapshots": infos})

    def status(self, req: Request, repo_name: str, snap: str) -> Response:
        repo = self.repo(repo_name)
        repo.check()
        stored, running = self.select(repo, snap, req.flag("ignore_unavailable"))
        out = []
        for r in running:
            elapsed = now_ms() - r.start_ms
            out.append(self._status_entry(r.name, r.repo, r.uuid, "STARTED", r.include_global_state,
                                          {n: p for n, p in r.plan.items()}, r.bytes_new, r.bytes_total,
                                          r.files_new, r.files_total, r.start_ms, elapsed, "STARTED"))
        for s in stored:
            info = repo.read_snapshot(s["uuid"])
            st = info["stats"]
            out.append(self._status_entry(info["snapshot"], repo_name, info["uuid"], info["state"],
                                          info["include_global_state"], info["indices_detail"],
                                          st["bytes_new"], st["bytes_total"], st["files_new"],
                                          st["files_total"], info["start_time_in_millis"],
                                          info["duration_in_millis"], "DONE"))
        return Response(200, {"snapshots": out})

    @staticmethod
    def _status_entry(name, repo, uuid, state, igs, detail, b_new, b_total, f_new, f_total, start, took, stage):
        def stats(fn, bn, ft, bt):
            return {"incremental": {"file_count": fn, "size_in_bytes": bn},
                    "total": {"file_count": ft, "size_in_bytes": bt},
                    "start_time_in_millis": start, "time_in_millis": took}
        indices, counts = {}, {"initializing": 0, "started": 0, "finalizing": 0, "done": 0, "failed": 0, "total": 0}
        for n, p in detail.items():
            shards, ic = {}, dict.fromkeys(counts, 0)
            for i, sh in enumerate(p["shards"]):
                size = sum(s["size"] for s in sh["segments"])
                st = "FAILURE" if sh["failed"] else stage
                key = {"DONE": "done", "STARTED": "started", "FAILURE": "failed"}[st]
                ic[key] += 1
                ic["total"] += 1
                shards[str(i)] = {"stage": st, "stats": stats(len(sh["segments"]), size, len(sh["segments"]), size)}
            for k in counts:
                counts[k] += ic[k]
            indices[n] = {"shards_stats": ic, "stats": stats(0, 0, 0, 0), "shards": shards}
        return {"snapshot": name, "repository": repo, "uuid": uuid, "state": state,
                "include_global_state": igs, "shards_stats": counts,
                "stats": stats(f_new, b_new, f_total, b_total), "indices": indices}

    def delete(self, req: Request, repo_name: str, snap: str) -> Response:
        repo = self.repo(repo_name)
        if repo.readonly:
            raise EsError(500, "repository_exception", f"[{repo_name}] cannot delete snapshot from a readonly repository")
        repo.check()
        stored, running = self.select(repo, snap, False)
        for r in running:
            r.aborted = True
            r.done.wait()
        with repo.lock:
            data = repo.data()
            doomed = {s["uuid"] for s in stored}
            keep = [s for s in data["snapshots"] if s["uuid"] not in doomed]
            keep_segments = set()
            for s in keep:
                for p in repo.read_snapshot(s["uuid"])["indices_detail"].values():
                    for sh in p["shards"]:
                        keep_segments.update(seg["id"] for seg in sh["segments"])
            data["snapshots"] = keep
            repo.commit(data)
            for u in doomed:
                repo.delete_snapshot_files(u, keep_segments)
        return Response(200, {"acknowledged": True})

    # ---- restore ------------------------------------------------------------

    def restore(self, req: Request, repo_name: str, snap: str) -> Response:
        cluster = self.cluster
        wait_for_master(cluster, req)
        repo = self.repo(repo_name)
        repo.check()
        body = req.json({}) or {}
        if any(r.name == snap and r.repo == repo_name for r in self.running):
            raise EsError(500, "snapshot_restore_exception",
                          f"[{repo_name}:{snap}] unsupported snapshot state [IN_PROGRESS]")
        summary = next((s for s in repo.data()["snapshots"] if s["name"] == snap), None)
        if summary is None:
            raise snapshot_missing(repo_name, snap)
        info = repo.read_snapshot(summary["uuid"])
        prefix = f"[{repo_name}:{snap}/{info['uuid']}]"
        if info["state"] not in ("SUCCESS", "PARTIAL"):
            raise EsError(500, "snapshot_restore_exception", f"{prefix} unsupported snapshot state [{info['state']}]")
        detail = info["indices_detail"]
        spec = body.get("indices", "*")
        wanted = ",".join(spec) if isinstance(spec, list) else spec
        names = select_names(wanted, list(detail), bool(body.get("ignore_unavailable")))
        pattern, replacement = body.get("rename_pattern"), body.get("rename_replacement")
        overrides = body.get("index_settings") or {}
        partial = bool(body.get("partial", False))
        include_aliases = body.get("include_aliases", True) is not False
        plans = []
        with cluster.lock:
            for n in names:
                target = re.sub(pattern, java_replacement(replacement or ""), n) if pattern else n
                meta = detail[n]["meta"]
                if any(sh["failed"] for sh in detail[n]["shards"]) and not partial:
                    raise EsError(500, "snapshot_restore_exception", f"{prefix} index [{n}] wasn't fully snapshotted - cannot restore")
                existing = cluster.indices.get(target)
                if existing is not None and existing.state == "open":
                    raise EsError(500, "snapshot_restore_exception",
                                  f"{prefix} cannot restore index [{target}] because an open index with same name "
                                  "already exists in the cluster. Either close or delete the existing index or restore "
                                  "the index under a different name by providing a rename pattern and replacement name")
                if existing is not None and len(existing.shards) != meta["shards"]:
                    raise EsError(500, "snapshot_restore_exception",
                                  f"{prefix} cannot restore index [{target}] with [{len(existing.shards)}] shards from "
                                  f"a snapshot of index [{n}] with [{meta['shards']}] shards")
                plans.append((n, target, meta, existing))
            ups = [x.index for x in cluster.up_nodes()]
            deadline_max = 0.0
            failed_total, total = 0, 0
            restored = []
            for n, target, meta, existing in plans:
                replicas = int(overrides.get("index.number_of_replicas", overrides.get("number_of_replicas", meta["replicas"])))
                idx = Index(target, new_uuid(), [Shard(i, ups[i % len(ups)]) for i in range(meta["shards"])],
                            replicas, hidden=meta.get("hidden", False))
                # Index blocks are index settings: restored with the index (as
                # ES does), unless index_settings overrides them.
                idx.blocks = dict(meta.get("blocks") or {})
                for key, block in (("index.blocks.write", "write"), ("index.blocks.read_only", "read_only")):
                    if key in overrides:
                        idx.blocks[block] = str(overrides[key]).lower() == "true"
                if include_aliases:
                    idx.aliases = dict(meta.get("aliases") or {})
                elif existing is not None:
                    idx.aliases = dict(existing.aliases)
                nbytes = 0
                for i, sh_detail in enumerate(detail[n]["shards"]):
                    shard = idx.shards[i]
                    for seg in sh_detail["segments"]:
                        ops = repo.read_segment(seg["id"])
                        nbytes += seg["size"]
                        for op, doc_id, source in ops:
                            if op == "index":
                                old = idx.docs.get(doc_id)
                                idx.docs[doc_id] = {"source": source, "version": 1 if old is None else old["version"] + 1,
                                                    "seq_no": shard.seq_no, "shard": i}
                                shard.seq_no += 1
                            else:
                                idx.docs.pop(doc_id, None)
                        shard.segments.append(Segment(seg["id"], ops, seg["size"]))
                until = time.monotonic() + self.copy_time(nbytes)
                deadline_max = max(deadline_max, until)
                for shard in idx.shards:
                    shard.recovering_until = until
                    if cluster.fail_next_restore:
                        shard.failed = True
                        failed_total += 1
                    total += 1
                cluster.indices[target] = idx
                restored.append(target)
            cluster.fail_next_restore = False
        if not req.flag("wait_for_completion"):
            return Response(200, {"accepted": True})
        while time.monotonic() < deadline_max:
            time.sleep(0.01)
        return Response(200, {"snapshot": {"snapshot": snap, "indices": restored,
                                           "shards": {"total": total, "failed": failed_total,
                                                      "successful": total - failed_total}}})


def register(router, cluster: Cluster, service: SnapshotService) -> None:
    def put_repo(req: Request, repo: str, **_):
        wait_for_master(cluster, req)
        register_repository(service.repos, service.repo_root, repo, req.json({}) or {}, cluster.nodes[0].node_id)
        return Response(200, {"acknowledged": True})

    def get_repo(req: Request, repo: str = None, **_):
        names = [repo] if repo and repo not in ("_all", "*") else list(service.repos)
        out = {}
        for n in names:
            if n not in service.repos:
                raise repository_missing(n)
            r = service.repos[n]
            out[n] = {"type": r.rtype, "uuid": r.uuid(), "settings": r.settings}
        return Response(200, out)

    def delete_repo(req: Request, repo: str, **_):
        service.repo(repo)
        del service.repos[repo]
        return Response(200, {"acknowledged": True})

    def verify_repo(req: Request, repo: str, **_):
        r = service.repo(repo)
        if not r.location.is_dir():
            raise EsError(500, "repository_verification_exception",
                          f"[{repo}] path [{r.location}] is not accessible on master node")
        return Response(200, {"nodes": {n.node_id: {"name": n.name} for n in cluster.up_nodes()}})

    router.add("GET", "/_snapshot", get_repo, "snapshot.get_repository")
    router.add("GET", "/_snapshot/{repo}", get_repo, "snapshot.get_repository")
    router.add("PUT|POST", "/_snapshot/{repo}", put_repo, "snapshot.create_repository")
    router.add("DELETE", "/_snapshot/{repo}", delete_repo, "snapshot.delete_repository")
    router.add("POST", "/_snapshot/{repo}/_verify", verify_repo, "snapshot.verify_repository")
    router.add("PUT|POST", "/_snapshot/{repo}/{snap}", lambda req, repo, snap: service.create(req, repo, snap), "snapshot.create")
    router.add("GET", "/_snapshot/{repo}/{snap}", lambda req, repo, snap: service.get(req, repo, snap), "snapshot.get")
    router.add("DELETE", "/_snapshot/{repo}/{snap}", lambda req, repo, snap: service.delete(req, repo, snap), "snapshot.delete")
    router.add("GET", "/_snapshot/{repo}/{snap}/_status", lambda req, repo, snap: service.status(req, repo, snap), "snapshot.status")
    router.add("POST", "/_snapshot/{repo}/{snap}/_restore", lambda req, repo, snap: service.restore(req, repo, snap), "snapshot.restore")


def select_names(expr: str, available: list, ignore_unavailable: bool) -> list:
    out = []
    for part in expr.split(","):
        exclude = part.startswith("-") and out
        p = part[1:] if exclude else part
        m = [n for n in available if fnmatch.fnmatchcase(n, p) and (not n.startswith(".") or p.startswith("."))] \
            if ("*" in p or p == "_all") else ([p] if p in available else [])
        if p == "_all":
            m = [n for n in available if not n.startswith(".")]
        if not m and "*" not in p and p != "_all" and not ignore_unavailable and not exclude:
            raise index_not_found(p)
        out = [n for n in out if n not in m] if exclude else out + [n for n in m if n not in out]
    return out


def java_replacement(repl: str) -> str:
    """Java's $1 group references → Python's \\1."""
    return re.sub(r"\$(\d+)", r"\\\1", repl)


def match(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def fmt_list(names: list) -> str:
    return "[" + ", ".join(names) + "]"


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
