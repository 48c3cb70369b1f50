"""Reading snapshots back from a repository: the SnapshotReader mixin of
SnapshotService (api_snapshot) that answers GET /_snapshot/<repo>/<snap>
(SnapshotInfo listing, `verbose`, `ignore_unavailable`) and .../_status, reading
the root, snap-<uuid>.dat and the shards' snap-<uuid>.dat afresh on every call
(another program may have copied files in), merged with the snapshots still
running; plus the small helpers (VERSION_ID, iso, now_ms) the other snapshot
modules share. Shapes: ES 8 get snapshot and snapshot status API docs."""

from __future__ import annotations

import fnmatch
import time
from typing import TYPE_CHECKING

from essimlib.api_cluster import VERSIONS
from essimlib.errors import EsError, snapshot_missing
from essimlib.http import Request, Response
from essimlib.repository import BlobMissing, Repository, snapshot_missing_blob

if TYPE_CHECKING:
    from essimlib.api_snapshot import Running

VERSION_ID = {"es8": 8170099, "es7": 7172599, "opensearch2": 136327827}


class SnapshotReader:
    """Mixed into SnapshotService: uses its cluster, running and repo()."""

    # ---- reading a stored snapshot ------------------------------------------------

    def stored_info(self, repo: Repository, summary: dict) -> dict:
        """snap-<uuid>.dat; a missing blob is ES's SnapshotMissingException (404)."""
        try:
            return repo.read_blob(f"snap-{summary['uuid']}.dat")
        except BlobMissing as e:
            raise snapshot_missing_blob(repo.name, summary["name"], summary["uuid"], e) from None

    def shard_snapshot(self, repo: Repository, root: dict, summary: dict, index: str, shard: int) -> dict:
        index_id = root["indices"][index]["id"]
        try:
            return repo.read_blob(f"{repo.shard_dir(index_id, shard)}/snap-{summary['uuid']}.dat")
        except BlobMissing as e:
            raise snapshot_missing_blob(repo.name, summary["name"], summary["uuid"], e) from None

    # ---- get / status ----------------------------------------------------------

    def select(self, repo: Repository, root: dict, spec: str, ignore_unavailable: bool) -> tuple:
        """(stored snapshot summaries, running snapshots) named by spec."""
        stored = root["snapshots"]
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

    @staticmethod
    def indices_of(root: dict, snap_uuid: str) -> list:
        return sorted(n for n, e in root["indices"].items() if snap_uuid in e["snapshots"])

    def running_info(self, r: Running) -> dict:
        return {"snapshot": r.name, "uuid": r.uuid, "repository": r.repo,
                "version_id": VERSION_ID[self.cluster.flavor],
                "version": VERSIONS[self.cluster.flavor]["number"], "indices": r.indices,
                "data_streams": [], "include_global_state": r.include_global_state,
                "state": "IN_PROGRESS", "start_time": iso(r.start_ms),
                "start_time_in_millis": r.start_ms, "failures": [],
                "shards": {"total": 0, "failed": 0, "successful": 0}, "feature_states": []}

    def infos(self, repo: Repository, spec: str, ignore_unavailable: bool, verbose: bool = True) -> list:
        """SnapshotInfo of the snapshots spec names, oldest first. verbose=false
        answers from the root alone (as ES does), so it never reads snap-*.dat."""
        root = repo.data()
        stored, running = self.select(repo, root, spec, ignore_unavailable)
        infos = []
        for s in stored:
            if not verbose:
                infos.append({"snapshot": s["name"], "uuid": s["uuid"], "indices": self.indices_of(root, s["uuid"]),
                              "data_streams": [], "state": s["state"], "_start": s.get("start_time_millis", 0)})
                continue
            try:
                infos.append(self.stored_info(repo, s))
            except EsError:
                if not ignore_unavailable:
                    raise
        for r in running:
            info = self.running_info(r)
            if not verbose:
                info = {k: info[k] for k in ("snapshot", "uuid", "indices", "data_streams", "state")}
                info["_start"] = r.start_ms
            infos.append(info)
        infos.sort(key=lambda i: i.get("start_time_in_millis", i.get("_start", 0)))
        for i in infos:
            i.pop("_start", None)
        return infos

    def get(self, req: Request, repo_name: str, snap: str) -> Response:
        repo = self.repo(repo_name)
        repo.check()
        infos = self.infos(repo, snap, req.flag("ignore_unavailable"), req.flag("verbose", True))
        if self.cluster.flavor == "es8":
            return Response(200, {"snapshots": infos, "total": len(infos), "remaining": 0})
        return Response(200, {"snapshots": infos})

    def status(self, req: Request, repo_name: str, snap: str) -> Response:
        repo = self.repo(repo_name)
        repo.check()
        root = repo.data()
        stored, running = self.select(repo, root, snap, req.flag("ignore_unavailable"))
        out = []
        for r in running:
            elapsed = now_ms() - r.start_ms
            detail = {n: [{"failed": sh["failed"], "files": len(sh["segments"]),
                           "size": sum(x["size"] for x in sh["segments"]),
                           "new_files": sh.get("new_files", 0), "new_size": sh.get("new_bytes", 0)}
                          for sh in p["shards"]] for n, p in r.plan.items()}
            out.append(self._status_entry(r.name, r.repo, r.uuid, "STARTED", r.include_global_state,
                                          detail, r.start_ms, elapsed, "STARTED"))
        for s in stored:
            info = self.stored_info(repo, s)
            failed = {(f["index"], f["shard_id"]) for f in info["failures"]}
            detail = {}
            for n in info["indices"]:
                shards = []
                count = len(root["indices"][n]["shard_generations"])
                for i in range(count):
                    if (n, i) in failed:
                        shards.append({"failed": True, "files": 0, "size": 0, "new_files": 0, "new_size": 0})
                        continue
                    snap_file = self.shard_snapshot(repo, root, s, n, i)
                    shards.append({"failed": None, "files": snap_file["number_of_files"],
                                   "size": snap_file["total_size"],
                                   "new_files": snap_file["incremental_file_count"],
                                   "new_size": snap_file["incremental_size"]})
                detail[n] = shards
            out.append(self._status_entry(info["snapshot"], repo_name, info["uuid"], info["state"],
                                          info["include_global_state"], detail,
                                          info["start_time_in_millis"], info["duration_in_millis"], "DONE"))
        return Response(200, {"snapshots": out})

    @staticmethod
    def _status_entry(name, repo, uuid, state, igs, detail, start, took, stage):
        def stats(fn, bn, ft, bt):
            return {"incremental": {"file_count": fn, "size_in_bytes": bn},
                    "total": {"file_count": ft, "size_in_bytes": bt},
                    "start_time_in_millis": start, "time_in_millis": took}
        indices, counts = {}, {"initializing": 0, "started": 0, "finalizing": 0, "done": 0, "failed": 0, "total": 0}
        totals = [0, 0, 0, 0]
        for n, shards_detail in detail.items():
            shards, ic = {}, dict.fromkeys(counts, 0)
            itotals = [0, 0, 0, 0]
            for i, sh in enumerate(shards_detail):
                st = "FAILURE" if sh["failed"] else stage
                key = {"DONE": "done", "STARTED": "started", "FAILURE": "failed"}[st]
                ic[key] += 1
                ic["total"] += 1
                shard_totals = (sh["new_files"], sh["new_size"], sh["files"], sh["size"])
                itotals = [a + b for a, b in zip(itotals, shard_totals)]
                shards[str(i)] = {"stage": st, "stats": stats(*shard_totals)}
            for k in counts:
                counts[k] += ic[k]
            totals = [a + b for a, b in zip(totals, itotals)]
            indices[n] = {"shards_stats": ic, "stats": stats(*itotals), "shards": shards}
        return {"snapshot": name, "repository": repo, "uuid": uuid, "state": state,
                "include_global_state": igs, "shards_stats": counts,
                "stats": stats(*totals), "indices": indices}


def match(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
