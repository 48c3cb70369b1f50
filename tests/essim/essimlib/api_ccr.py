"""The CCR REST handlers (RestPutFollowAction and friends): GET /_remote/info,
GET /_license, PUT /<i>/_ccr/follow, POST /<i>/_ccr/pause_follow,
.../resume_follow, .../unfollow, GET /<i>/_ccr/info, GET [/<i>]/_ccr/stats and
the /_ccr/auto_follow routes, all over CcrService (ccr); and the two essim-only
endpoints a leader serves its followers: `GET /_essim/ccr/changes/<index>/<shard>
?from_seq_no=N&max_operation_count=M` (the leader side of ShardChangesAction)
and `GET /_essim/ccr/indices` (its indices, for the auto-follow coordinator).
Registered before api_index, whose /{index} routes would take these paths."""

from __future__ import annotations

import time

from essimlib.api_cluster import parse_time, wait_for_master
from essimlib.ccr import CcrService
from essimlib.cluster import Cluster
from essimlib.errors import EsError, illegal_argument
from essimlib.http import Request, Response


def register(router, cluster: Cluster, service: CcrService) -> None:
    def remote_info(req: Request, **_):
        return Response(200, service.remote_info())

    def license_get(req: Request, **_):
        lic = service.license
        issued = lic["issue_date_in_millis"]
        body = {"status": lic["status"], "uid": lic["uid"], "type": lic["type"],
                "issue_date": iso(issued), "issue_date_in_millis": issued}
        if lic["type"] != "basic":
            expiry = issued + 30 * 86400 * 1000 if lic["type"] == "trial" else issued + 365 * 86400 * 1000
            body.update({"expiry_date": iso(expiry), "expiry_date_in_millis": expiry})
        body.update({"max_nodes": 1000, "max_resource_units": None, "issued_to": cluster.name,
                     "issuer": "elasticsearch", "start_date_in_millis": -1})
        return Response(200, {"license": body})

    def follow(req: Request, index: str, **_):
        wait_for_master(cluster, req)
        body = req.json({}) or {}
        raw = req.query.get("wait_for_active_shards", "0")
        if raw in ("none", "0"):
            wait = 0
        elif raw == "all" or raw.isdigit():
            wait = 1
        else:
            raise illegal_argument(f"failed to parse value [{raw}] for wait_for_active_shards")
        timeout = parse_time(req.query.get("timeout"), 30.0)
        return Response(200, service.put_follow(index, body, wait, timeout))

    def pause(req: Request, index: str, **_):
        wait_for_master(cluster, req)
        service.pause(index)
        return Response(200, {"acknowledged": True})

    def resume(req: Request, index: str, **_):
        wait_for_master(cluster, req)
        service.resume(index, req.json({}) or {})
        return Response(200, {"acknowledged": True})

    def unfollow(req: Request, index: str, **_):
        wait_for_master(cluster, req)
        service.unfollow(index)
        return Response(200, {"acknowledged": True})

    def info(req: Request, index: str, **_):
        return Response(200, service.info(index))

    def stats_index(req: Request, index: str, **_):
        return Response(200, service.follow_stats(index))

    def stats(req: Request, **_):
        return Response(200, service.ccr_stats())

    def auto_follow(req: Request, name: str = None, **_):
        if req.method == "GET":
            return Response(200, service.get_patterns(name))
        wait_for_master(cluster, req)
        if req.method == "DELETE":
            service.delete_pattern(name)
        else:
            service.put_pattern(name, req.json({}) or {})
        return Response(200, {"acknowledged": True})

    def auto_follow_pause(req: Request, name: str, **_):
        service.activate_pattern(name, False)
        return Response(200, {"acknowledged": True})

    def auto_follow_resume(req: Request, name: str, **_):
        service.activate_pattern(name, True)
        return Response(200, {"acknowledged": True})

    def changes(req: Request, index: str, shard: str, **_):
        """essim-only: the leader side of ShardChangesAction."""
        with cluster.lock:
            idx = cluster.get_index(index)
            if idx.state != "open":
                raise EsError(400, "index_closed_exception", "closed", {"index_uuid": idx.uuid, "index": index})
            n = int(shard)
            if not 0 <= n < len(idx.shards):
                raise EsError(404, "shard_not_found_exception", f"no such shard [{index}][{n}]")
            sh = idx.shards[n]
            if not cluster.primary_active(sh):
                raise EsError(503, "unavailable_shards_exception",
                              f"[{index}][{n}] primary shard is not active")
            start = int(req.query.get("from_seq_no", "0"))
            count = int(req.query.get("max_operation_count", "5120"))
            ops = [op for op in sh.history if op[0] >= start][:count]
            return Response(200, {"index_uuid": idx.uuid, "global_checkpoint": sh.seq_no - 1,
                                  "max_seq_no": sh.seq_no - 1, "operations": [list(op) for op in ops]})

    def indices(req: Request, **_):
        """essim-only: the leader's indices for the auto-follow coordinator, with
        the data stream a backing index belongs to (hidden as they are; other
        hidden indices are left out)."""
        with cluster.lock:
            backing = {b: ds.name for ds in cluster.data_streams.values() for b in ds.indices}
            return Response(200, {n: {"uuid": i.uuid, "state": i.state, "data_stream": backing.get(n)}
                                  for n, i in cluster.indices.items() if not i.hidden or n in backing})

    router.add("GET", "/_remote/info", remote_info, "cluster.remote_info")
    router.add("GET", "/_license", license_get, "license.get")
    router.add("GET", "/_ccr/stats", stats, "ccr.stats")
    router.add("GET", "/_ccr/auto_follow", auto_follow, "ccr.get_auto_follow_pattern")
    router.add("GET|PUT|DELETE", "/_ccr/auto_follow/{name}", auto_follow, "ccr.auto_follow_pattern")
    router.add("POST", "/_ccr/auto_follow/{name}/pause", auto_follow_pause, "ccr.pause_auto_follow_pattern")
    router.add("POST", "/_ccr/auto_follow/{name}/resume", auto_follow_resume, "ccr.resume_auto_follow_pattern")
    router.add("PUT", "/{index}/_ccr/follow", follow, "ccr.follow")
    router.add("POST", "/{index}/_ccr/pause_follow", pause, "ccr.pause_follow")
    router.add("POST", "/{index}/_ccr/resume_follow", resume, "ccr.resume_follow")
    router.add("POST", "/{index}/_ccr/unfollow", unfollow, "ccr.unfollow")
    router.add("GET", "/{index}/_ccr/info", info, "ccr.follow_info")
    router.add("GET", "/{index}/_ccr/stats", stats_index, "ccr.follow_stats")
    router.add("GET", "/_essim/ccr/changes/{index}/{shard}", changes, "essim.ccr.changes")
    router.add("GET", "/_essim/ccr/indices", indices, "essim.ccr.indices")


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"
