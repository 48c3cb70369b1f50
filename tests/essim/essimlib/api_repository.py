"""Repository endpoints and the snapshot _cat tables, over the
SnapshotService's registered repositories: PUT/POST, GET and DELETE
/_snapshot/<repo> (type `fs`, `readonly`), POST /_snapshot/<repo>/_verify,
GET /_cat/snapshots[/<repo>] and GET /_cat/repositories, with ES 8's
RestSnapshotAction and RestRepositoriesAction columns (rendered by cat).
Registered before api_snapshot's routes, so `_verify` is not taken for a
snapshot name."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from essimlib import cat as catlib
from essimlib.api_cluster import wait_for_master
from essimlib.api_snapshot_read import now_ms
from essimlib.cat import Column, human_millis
from essimlib.cluster import Cluster
from essimlib.errors import EsError, repository_missing
from essimlib.http import Request, Response
from essimlib.repository import register as register_repository

if TYPE_CHECKING:
    from essimlib.api_snapshot import SnapshotService


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

    def cat_snapshots(req: Request, repo: str = None, **_):
        names = [repo] if repo and repo not in ("_all", "*") else sorted(service.repos)
        rows = []
        for name in names:
            r = service.repo(name)
            r.check()
            for info in service.infos(r, "_all", req.flag("ignore_unavailable")):
                start = info.get("start_time_in_millis", 0)
                end = info.get("end_time_in_millis")
                shards = info["shards"]
                rows.append({"id": info["snapshot"], "repository": name, "status": info["state"],
                             "start_epoch": start // 1000, "start_time": hms(start),
                             "end_epoch": end // 1000 if end is not None else 0,
                             "end_time": hms(end) if end is not None else "00:00:00",
                             "duration": human_millis(info.get("duration_in_millis", now_ms() - start)),
                             "indices": len(info["indices"]), "successful_shards": shards["successful"],
                             "failed_shards": shards["failed"], "total_shards": shards["total"],
                             "reason": info.get("reason")})
        return catlib.render(req, CAT_SNAPSHOTS, rows)

    def cat_repositories(req: Request, **_):
        rows = [{"id": n, "type": r.rtype} for n, r in sorted(service.repos.items())]
        return catlib.render(req, CAT_REPOSITORIES, rows)

    router.add("GET", "/_cat/snapshots", cat_snapshots, "cat.snapshots")
    router.add("GET", "/_cat/snapshots/{repo}", cat_snapshots, "cat.snapshots")
    router.add("GET", "/_cat/repositories", cat_repositories, "cat.repositories")
    router.add("GET", "/_snapshot", get_repo, "snapshot.get_repository")
    router.add("GET", "/_snapshot/{repo}", get_repo, "snapshot.get_repository")
    router.add("PUT|POST", "/_snapshot/{repo}", put_repo, "snapshot.create_repository")
    router.add("DELETE", "/_snapshot/{repo}", delete_repo, "snapshot.delete_repository")
    router.add("POST", "/_snapshot/{repo}/_verify", verify_repo, "snapshot.verify_repository")


# RestSnapshotAction, RestRepositoriesAction columns.
CAT_SNAPSHOTS = [
    Column("id", ("snapshot",)), Column("repository", ("re", "repo")), Column("status", ("s",)),
    Column("start_epoch", ("ste", "startEpoch"), "number"), Column("start_time", ("sti", "startTime")),
    Column("end_epoch", ("ete", "endEpoch"), "number"), Column("end_time", ("eti", "endTime")),
    Column("duration", ("dur",)), Column("indices", ("i",), "number"),
    Column("successful_shards", ("ss",), "number"), Column("failed_shards", ("fs",), "number"),
    Column("total_shards", ("ts",), "number"), Column("reason", ("r",), "text", False)]
CAT_REPOSITORIES = [Column("id", ("id", "repoId")), Column("type", ("t",))]


def hms(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000))

