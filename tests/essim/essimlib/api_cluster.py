"""Cluster-level endpoints: /, _cluster/health, _nodes, _cat, _cluster/settings, _slm."""

from __future__ import annotations

import time

from essimlib.cluster import RANK, Cluster, master_not_discovered
from essimlib.errors import EsError, illegal_argument
from essimlib.http import Request, Response

VERSIONS = {
    "es8": {"number": "8.17.0", "build_flavor": "default", "build_type": "tar",
            "build_hash": "2b6a7fed44faa321997703718f07ee0420804b41",
            "build_date": "2024-12-11T12:08:05.663969764Z", "build_snapshot": False,
            "lucene_version": "9.12.0", "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"},
    "es7": {"number": "7.17.25", "build_flavor": "default", "build_type": "tar",
            "build_hash": "f9b6b57d1d0f76e2d14291c04fb50abeb642cfbf",
            "build_date": "2024-10-16T22:06:36.904732810Z", "build_snapshot": False,
            "lucene_version": "8.11.3", "minimum_wire_compatibility_version": "6.8.0",
            "minimum_index_compatibility_version": "6.0.0-beta1"},
    "opensearch2": {"distribution": "opensearch", "number": "2.11.0", "build_type": "tar",
                    "build_hash": "4dcad6dd1fd45b6bd91f041a041829c8687278fa",
                    "build_date": "2023-10-13T02:55:55.511945994Z", "build_snapshot": False,
                    "lucene_version": "9.7.0", "minimum_wire_compatibility_version": "7.10.0",
                    "minimum_index_compatibility_version": "7.0.0"},
}
TAGLINES = {"es8": "You Know, for Search", "es7": "You Know, for Search",
            "opensearch2": "The OpenSearch Project: https://opensearch.org/"}


def parse_time(value: str, default: float) -> float:
    if value is None:
        return default
    units = (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400))
    for suffix, mult in units:
        if value.endswith(suffix) and value[:-len(suffix)].isdigit():
            return int(value[:-len(suffix)]) * mult
    if value.isdigit():
        return int(value) / 1000.0
    raise EsError(400, "parse_exception",
                  f"failed to parse setting [timeout] with value [{value}] as a time value: "
                  f"unit is missing or unrecognized")


def wait_for_master(cluster: Cluster, req: Request) -> None:
    """A node without an elected master waits master_timeout, then 503."""
    if cluster.has_master():
        return
    deadline = time.monotonic() + parse_time(req.query.get("master_timeout"), cluster.master_wait)
    while time.monotonic() < deadline:
        if cluster.has_master():
            return
        time.sleep(0.05)
    raise master_not_discovered()


def register(router, cluster: Cluster) -> None:
    def root(req: Request, **_):
        body = {"name": req.node.name, "cluster_name": cluster.name,
                "cluster_uuid": cluster.uuid if cluster.has_master() else "_na_",
                "version": VERSIONS[cluster.flavor], "tagline": TAGLINES[cluster.flavor]}
        return Response(200, body)

    def health(req: Request, index: str = None, **_):
        if req.flag("local"):
            pass
        else:
            wait_for_master(cluster, req)
        names = None
        if index:
            names = cluster.resolve(index, include_hidden=True)
        level = req.query.get("level", "cluster")
        if level not in ("cluster", "indices", "shards"):
            raise illegal_argument(f"level [{level}] is not one of [cluster, indices, shards]")
        want = req.query.get("wait_for_status")
        if want is not None and want not in RANK:
            raise illegal_argument(f"unknown cluster health status [{want}]")
        timeout = parse_time(req.query.get("timeout"), 30.0)
        deadline = time.monotonic() + timeout
        while True:
            body = cluster.health(names, level)
            if want is None or RANK[body["status"]] <= RANK[want]:
                return Response(200, body)
            if time.monotonic() >= deadline:
                body["timed_out"] = True
                return Response(408, body)  # ClusterHealthResponse.status(): 408 on timeout
            time.sleep(0.05)

    def node_info(node):
        return {"name": node.name, "transport_address": f"127.0.0.1:{9300 + node.index}",
                "host": "127.0.0.1", "ip": "127.0.0.1",
                "version": VERSIONS[cluster.flavor]["number"], "transport_version": 8797000,
                "build_flavor": "default", "build_type": "tar",
                "build_hash": VERSIONS[cluster.flavor]["build_hash"],
                "roles": ["data", "ingest", "master"], "attributes": {}}

    def nodes_local(req: Request, **_):
        return Response(200, {"_nodes": {"total": 1, "successful": 1, "failed": 0},
                              "cluster_name": cluster.name,
                              "nodes": {req.node.node_id: node_info(req.node)}})

    def nodes_all(req: Request, **_):
        wait_for_master(cluster, req)
        ups = cluster.up_nodes()
        return Response(200, {"_nodes": {"total": len(ups), "successful": len(ups), "failed": 0},
                              "cluster_name": cluster.name,
                              "nodes": {n.node_id: node_info(n) for n in ups}})

    def cat_indices(req: Request, index: str = None, **_):
        with cluster.lock:
            names = cluster.resolve(index or "*", include_hidden=req.query.get("expand_wildcards") == "all")
            rows = []
            for n in sorted(names):
                idx = cluster.indices[n]
                size = sum(len(str(d["source"])) for d in idx.docs.values())
                closed = idx.state != "open"
                rows.append({"health": cluster.index_health(idx), "status": idx.state, "index": n,
                             "uuid": idx.uuid, "pri": str(len(idx.shards)), "rep": str(idx.replicas),
                             "docs.count": None if closed else str(len(idx.docs)),
                             "docs.deleted": None if closed else "0",
                             "store.size": None if closed else f"{size}b",
                             "pri.store.size": None if closed else f"{size}b",
                             "dataset.size": None if closed else f"{size}b"})
        return cat(req, rows)

    def cat_nodes(req: Request, **_):
        master = cluster.master()
        rows = [{"ip": "127.0.0.1", "heap.percent": "30", "ram.percent": "60", "cpu": "3",
                 "load_1m": "0.10", "load_5m": "0.10", "load_15m": "0.10", "node.role": "dim",
                 "master": "*" if master is n else "-", "name": n.name} for n in cluster.up_nodes()]
        return cat(req, rows)

    def cat(req: Request, rows: list) -> Response:
        if req.query.get("format") == "json":
            return Response(200, rows)
        if not rows:
            return Response(200, "", content_type="text/plain; charset=UTF-8")
        keys = list(rows[0].keys())
        text = "\n".join(" ".join("" if r[k] is None else str(r[k]) for k in keys) for r in rows) + "\n"
        if req.flag("v"):
            text = " ".join(keys) + "\n" + text
        return Response(200, text, content_type="text/plain; charset=UTF-8")

    def cluster_settings(req: Request, **_):
        if req.method == "GET":
            return Response(200, {"persistent": dict(cluster.persistent), "transient": {}})
        body = req.json({}) or {}
        for scope in ("persistent", "transient"):
            for k, v in (body.get(scope) or {}).items():
                if v is None:
                    cluster.persistent.pop(k, None)
                else:
                    cluster.persistent[k] = str(v)
        return Response(200, {"acknowledged": True, "persistent": dict(cluster.persistent),
                              "transient": {}})

    def slm(req: Request, policy: str = None, **_):
        if req.method == "GET":
            if policy and policy not in cluster.slm_policies:
                raise EsError(404, "resource_not_found_exception", f"snapshot lifecycle policy or policies [{policy}] not found, no policies are configured")
            return Response(200, {k: v for k, v in cluster.slm_policies.items() if not policy or k == policy})
        if req.method == "DELETE":
            cluster.slm_policies.pop(policy, None)
            return Response(200, {"acknowledged": True})
        cluster.slm_policies[policy] = {"version": 1, "modified_date_millis": int(time.time() * 1000),
                                        "policy": req.json({})}
        return Response(200, {"acknowledged": True})

    router.add("GET|HEAD", "/", root, "root")
    router.add("GET", "/_cluster/health", health, "cluster.health")
    router.add("GET", "/_cluster/health/{index}", health, "cluster.health")
    router.add("GET", "/_nodes/_local", nodes_local, "nodes.info")
    router.add("GET", "/_nodes", nodes_all, "nodes.info")
    router.add("GET", "/_cat/indices", cat_indices, "cat.indices")
    router.add("GET", "/_cat/indices/{index}", cat_indices, "cat.indices")
    router.add("GET", "/_cat/nodes", cat_nodes, "cat.nodes")
    router.add("GET|PUT", "/_cluster/settings", cluster_settings, "cluster.settings")
    router.add("GET", "/_slm/policy", slm, "slm.get")
    router.add("GET|PUT|DELETE", "/_slm/policy/{policy}", slm, "slm.policy")
