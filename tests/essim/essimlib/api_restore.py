"""Snapshot restore (POST /_snapshot/<repo>/<snap>/_restore): the Restore
mixin of SnapshotService (api_snapshot). It reads the snapshot's root entry,
snap-<uuid>.dat, index metadata and shard files from the repository as they are
now, refuses what ES refuses (running or failed snapshots, open indices of the
same name, shard-count mismatches, the shard limit), applies `indices`,
`rename_pattern`/`rename_replacement`, `include_aliases`, `index_settings` and
`partial`, and creates the indices with their documents, recovering for a
simulated time proportional to the bytes read; a shard whose blobs are missing
comes back failed (the index is red). Shapes: ES 8 restore snapshot API docs."""

from __future__ import annotations

import fnmatch
import re
import time

from essimlib.api_cluster import VERSIONS, wait_for_master
from essimlib.api_snapshot_read import now_ms
from essimlib.cluster import Index, Segment, Shard, new_uuid
from essimlib.errors import EsError, index_not_found, snapshot_missing
from essimlib.http import Request, Response
from essimlib.repository import BlobMissing, Repository, snapshot_missing_blob


class Restore:
    """Mixed into SnapshotService: uses its cluster, running, repo(),
    copy_time(), stored_info() and shard_snapshot()."""

    def restore(self, req: Request, repo_name: str, snap: str) -> Response:
        cluster = self.cluster
        wait_for_master(cluster, req)
        repo = self.repo(repo_name)
        repo.check()
        body = req.json({}) or {}
        if any(r.name == snap and r.repo == repo_name for r in self.running):
            raise EsError(500, "snapshot_restore_exception",
                          f"[{repo_name}:{snap}] unsupported snapshot state [IN_PROGRESS]")
        root = repo.data()  # read again now: another program may have copied files in
        summary = next((s for s in root["snapshots"] if s["name"] == snap), None)
        if summary is None:
            raise snapshot_missing(repo_name, snap)
        info = self.stored_info(repo, summary)
        prefix = f"[{repo_name}:{snap}/{info['uuid']}]"
        if info["state"] not in ("SUCCESS", "PARTIAL"):
            raise EsError(500, "snapshot_restore_exception", f"{prefix} unsupported snapshot state [{info['state']}]")
        if body.get("include_global_state") is True:
            try:
                repo.read_blob(f"meta-{summary['uuid']}.dat")
            except BlobMissing as e:
                raise snapshot_missing_blob(repo_name, snap, summary["uuid"], e) from None
        spec = body.get("indices", "*")
        wanted = ",".join(spec) if isinstance(spec, list) else spec
        names = select_names(wanted, list(info["indices"]), bool(body.get("ignore_unavailable")))
        pattern, replacement = body.get("rename_pattern"), body.get("rename_replacement")
        overrides = body.get("index_settings") or {}
        partial = bool(body.get("partial", False))
        include_aliases = body.get("include_aliases", True) is not False
        failed_shards = {(f["index"], f["shard_id"]) for f in info["failures"]}
        metas = {}
        for n in names:
            index_id = root["indices"][n]["id"]
            blob = summary.get("index_metadata_lookup", {}).get(index_id)
            try:
                metas[n] = repo.read_blob(f"indices/{index_id}/meta-{blob}.dat")
            except BlobMissing as e:
                raise snapshot_missing_blob(repo_name, snap, summary["uuid"], e) from None
        plans = []
        with cluster.lock:
            for n in names:
                target = re.sub(pattern, java_replacement(replacement or ""), n) if pattern else n
                meta = metas[n]
                if any(i == n for i, _ in failed_shards) and not partial:
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
            cluster.check_shard_limit(sum(
                meta["shards"] * (1 + int(overrides.get("index.number_of_replicas",
                                                        overrides.get("number_of_replicas", meta["replicas"]))))
                for _n, _t, meta, _e in plans))
            ups = [x.index for x in cluster.up_nodes()]
            deadline_max = 0.0
            failed_total, total = 0, 0
            restored = []
            restore_uuid = new_uuid()
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
                nbytes, shard_failed = 0, set()
                for i in range(meta["shards"]):
                    if (n, i) in failed_shards:
                        continue  # partial: the shard comes back empty
                    try:
                        nbytes += self._restore_shard(repo, root, summary, n, idx, i)
                    except (EsError, BlobMissing):
                        # The shard's recovery fails (IndexShardRestoreFailedException):
                        # the restore goes on, the index is red.
                        shard_failed.add(i)
                until = time.monotonic() + self.copy_time(nbytes)
                deadline_max = max(deadline_max, until)
                for shard in idx.shards:
                    shard.recovering_until = until
                    if cluster.fail_next_restore or shard.number in shard_failed:
                        shard.failed = True
                        failed_total += 1
                    total += 1
                idx.recovery = {"repository": repo_name, "snapshot": snap, "uuid": summary["uuid"],
                                "version": summary.get("version", VERSIONS[cluster.flavor]["number"]),
                                "index": n, "restoreUUID": restore_uuid, "bytes": nbytes,
                                "start_ms": now_ms(), "duration_ms": int(self.copy_time(nbytes) * 1000)}
                cluster.indices[target] = idx
                restored.append(target)
            cluster.fail_next_restore = False
            cluster.apply_disk_watermarks()
        if not req.flag("wait_for_completion"):
            return Response(200, {"accepted": True})
        while time.monotonic() < deadline_max:
            time.sleep(0.01)
        return Response(200, {"snapshot": {"snapshot": snap, "indices": restored,
                                           "shards": {"total": total, "failed": failed_total,
                                                      "successful": total - failed_total}}})

    def _restore_shard(self, repo: Repository, root: dict, summary: dict, index: str, idx: Index, i: int) -> int:
        """Reads one shard's files into the new index; returns the bytes read."""
        shard_file = self.shard_snapshot(repo, root, summary, index, i)
        shard = idx.shards[i]
        nbytes = 0
        for f in shard_file["files"]:
            ops = repo.read_blob(f"{repo.shard_dir(root['indices'][index]['id'], i)}/{f['name']}")["ops"]
            nbytes += f["length"]
            for op, doc_id, source in ops:
                seq_no = shard.seq_no
                shard.seq_no += 1
                if op == "index":
                    old = idx.docs.get(doc_id)
                    idx.docs[doc_id] = {"source": source, "version": 1 if old is None else old["version"] + 1,
                                        "seq_no": seq_no, "shard": i}
                    version = idx.docs[doc_id]["version"]
                else:
                    old = idx.docs.pop(doc_id, None)
                    version = (old["version"] + 1) if old else 1
                shard.history.append((seq_no, op, doc_id, source, version))
            shard.segments.append(Segment(f["physical_name"], ops, f["length"]))
        return nbytes


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

