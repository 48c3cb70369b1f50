"""Cluster-level endpoints: /, _cluster/health, _nodes, _cat, _cluster/settings, _slm."""

from __future__ import annotations

import fnmatch
import json
import time

from essimlib.cluster import GIB, RANK, Cluster, master_not_discovered
from essimlib.errors import EsError, illegal_argument
from essimlib.http import Request, Response
from essimlib import cat as catlib
from essimlib.cat import Column
from essimlib.settings import ClusterSettings, flatten, render

# The roles every simulated node has (ES 8 role names).
ROLES = ("data", "data_content", "data_hot", "ingest", "master", "remote_cluster_client")
# _cat columns (RestIndicesAction, RestNodesAction): names, aliases, kinds, default or not.
CAT_INDICES = [
    Column("health", ("h",)), Column("status", ("s",)), Column("index", ("i", "idx")),
    Column("uuid", ("id", "uuid")), Column("pri", ("p", "shards.primary", "shardsPrimary"), "number"),
    Column("rep", ("r", "shards.replica", "shardsReplica"), "number"),
    Column("docs.count", ("dc", "docsCount"), "number"), Column("docs.deleted", ("dd", "docsDeleted"), "number"),
    Column("store.size", ("ss", "storeSize"), "bytes"), Column("pri.store.size", (), "bytes"),
    Column("dataset.size", (), "bytes"), Column("creation.date", ("cd",), "number", False),
    Column("creation.date.string", ("cds",), "text", False)]
CAT_NODES = [
    Column("ip", ("i",)), Column("heap.percent", ("hp", "heapPercent"), "number"),
    Column("ram.percent", ("rp", "ramPercent"), "number"), Column("cpu", (), "number"),
    Column("load_1m", ("l",), "number"), Column("load_5m", ("l",), "number"), Column("load_15m", ("l",), "number"),
    Column("node.role", ("r", "role", "nodeRole")), Column("master", ("m",)), Column("name", ("n",)),
    Column("id", ("nodeId",), "text", False), Column("port", ("po",), "number", False),
    Column("heap.current", ("hc", "heapCurrent"), "bytes", False),
    Column("heap.max", ("hm", "heapMax"), "bytes", False),
    Column("disk.total", ("dt", "diskTotal"), "bytes", False),
    Column("disk.used", ("du", "diskUsed"), "bytes", False),
    Column("disk.avail", ("d", "da", "disk", "diskAvail"), "bytes", False),
    Column("disk.used_percent", ("dup", "diskUsedPercent"), "number", False)]


def iso_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


# Metrics of GET /_nodes/stats/<metric> essim fills in; ES's other metric
# names are accepted and answered without their section.
NODE_METRICS = ("indices", "os", "process", "jvm", "fs", "thread_pool", "transport", "http", "breaker",
                "script", "discovery", "ingest", "adaptive_selection", "indexing_pressure",
                "script_cache", "repositories", "allocations")

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
                "roles": list(ROLES), "attributes": {}}

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

    def select_nodes(req: Request, spec: str) -> list:
        """ES node selectors: _all, _local, _master, node ids, names, wildcards."""
        chosen = []
        for part in spec.split(","):
            if part in ("_all", "*"):
                matched = cluster.up_nodes()
            elif part == "_local":
                matched = [req.node]
            elif part == "_master":
                matched = [cluster.master()] if cluster.master() else []
            else:
                matched = [n for n in cluster.up_nodes()
                           if fnmatch.fnmatchcase(n.name, part) or n.node_id == part]
            chosen += [n for n in matched if n not in chosen]
        return chosen

    def nodes_stats(req: Request, node_id: str = "_all", metric: str = "_all", **_):
        metrics = set(metric.split(","))
        bad = sorted(m for m in metrics if m not in NODE_METRICS and m != "_all")
        if bad:
            raise illegal_argument(f"request [{req.path}] contains unrecognized metric"
                                   f"{'s' if len(bad) > 1 else ''}: [{', '.join(bad)}]")
        if "_all" in metrics:
            metrics = set(NODE_METRICS)
        if node_id != "_local":
            wait_for_master(cluster, req)
        with cluster.lock:
            nodes = select_nodes(req, node_id)
            return Response(200, {"_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
                                  "cluster_name": cluster.name,
                                  "nodes": {n.node_id: node_stats(n, metrics) for n in nodes}})

    def node_stats(node, metrics: set) -> dict:
        now = int(time.time() * 1000)
        out = {"timestamp": now, "name": node.name,
               "transport_address": f"127.0.0.1:{9300 + node.index}", "host": "127.0.0.1",
               "ip": f"127.0.0.1:{9300 + node.index}", "roles": list(ROLES)}
        if "indices" in metrics:
            docs, size = 0, 0
            for idx in cluster.indices.values():
                for sh in idx.shards:
                    if node.index in cluster.shard_nodes(idx, sh):
                        here = [d for d in idx.docs.values() if d["shard"] == sh.number]
                        docs += len(here)
                        size += sum(len(json.dumps(d["source"])) for d in here)
            out["indices"] = {"docs": {"count": docs, "deleted": 0},
                              "store": {"size_in_bytes": size, "total_data_set_size_in_bytes": size,
                                        "reserved_in_bytes": 0}}
        if "os" in metrics:
            total = 8 * GIB
            out["os"] = {"timestamp": now, "cpu": {"percent": 3, "load_average": {"1m": 0.1, "5m": 0.1, "15m": 0.1}},
                         "mem": {"total_in_bytes": total, "adjusted_total_in_bytes": total,
                                 "free_in_bytes": int(total * 0.4), "used_in_bytes": int(total * 0.6),
                                 "free_percent": 40, "used_percent": 60},
                         "swap": {"total_in_bytes": 0, "free_in_bytes": 0, "used_in_bytes": 0}}
        if "process" in metrics:
            out["process"] = {"timestamp": now, "open_file_descriptors": 400, "max_file_descriptors": 65535,
                              "cpu": {"percent": 1, "total_in_millis": int((time.time() - node.started) * 10)},
                              "mem": {"total_virtual_in_bytes": 4 * GIB}}
        if "jvm" in metrics:
            heap_pct = node.heap_used_percent
            out["jvm"] = {
                "timestamp": now, "uptime_in_millis": int((time.time() - node.started) * 1000),
                "mem": {"heap_used_in_bytes": node.heap_used, "heap_used_percent": heap_pct,
                        "heap_committed_in_bytes": node.heap_max, "heap_max_in_bytes": node.heap_max,
                        "non_heap_used_in_bytes": 180 * 1024 * 1024,
                        "non_heap_committed_in_bytes": 190 * 1024 * 1024,
                        "pools": {"young": {"used_in_bytes": node.heap_used // 4, "max_in_bytes": 0,
                                            "peak_used_in_bytes": node.heap_used // 2, "peak_max_in_bytes": 0},
                                  "old": {"used_in_bytes": node.heap_used - node.heap_used // 4,
                                          "max_in_bytes": node.heap_max,
                                          "peak_used_in_bytes": node.heap_used, "peak_max_in_bytes": node.heap_max},
                                  "survivor": {"used_in_bytes": 0, "max_in_bytes": 0,
                                               "peak_used_in_bytes": 0, "peak_max_in_bytes": 0}}},
                "threads": {"count": 80, "peak_count": 90},
                "gc": {"collectors": {"young": {"collection_count": 10, "collection_time_in_millis": 120},
                                      "old": {"collection_count": 0, "collection_time_in_millis": 0}}},
                "buffer_pools": {"direct": {"count": 40, "used_in_bytes": 8 * 1024 * 1024,
                                            "total_capacity_in_bytes": 8 * 1024 * 1024}},
                "classes": {"current_loaded_count": 30000, "total_loaded_count": 30000,
                            "total_unloaded_count": 0}}
        if "fs" in metrics:
            disk = {"total_in_bytes": node.disk_total, "free_in_bytes": node.disk_available,
                    "available_in_bytes": node.disk_available}
            out["fs"] = {"timestamp": now, "total": dict(disk),
                         "data": [{"path": f"/var/lib/elasticsearch/{node.name}/data",
                                   "mount": "/var/lib/elasticsearch (/dev/sdb1)", "type": "ext4", **disk}],
                         "io_stats": {}}
        return out

    def cat_indices(req: Request, index: str = None, **_):
        want = req.query.get("health")
        if want is not None and want not in RANK:
            raise illegal_argument(f"unknown cluster health status [{want}]")
        with cluster.lock:
            names = cluster.resolve(index or "*", include_hidden=req.query.get("expand_wildcards") == "all")
            rows = []
            for n in sorted(names):
                idx = cluster.indices[n]
                health = cluster.index_health(idx)
                if want is not None and health != want:
                    continue
                size = sum(len(str(d["source"])) for d in idx.docs.values())
                closed = idx.state != "open"
                rows.append({"health": health, "status": idx.state, "index": n,
                             "uuid": idx.uuid, "pri": len(idx.shards), "rep": idx.replicas,
                             "docs.count": None if closed else len(idx.docs),
                             "docs.deleted": None if closed else 0,
                             "store.size": None if closed else size,
                             "pri.store.size": None if closed else size,
                             "dataset.size": None if closed else size,
                             "creation.date": idx.creation_date,
                             "creation.date.string": iso_ms(idx.creation_date)})
        return catlib.render(req, CAT_INDICES, rows)

    def cat_nodes(req: Request, **_):
        master = cluster.master()
        rows = [{"ip": "127.0.0.1", "heap.percent": n.heap_used_percent, "ram.percent": 60, "cpu": 3,
                 "load_1m": "0.10", "load_5m": "0.10", "load_15m": "0.10", "node.role": "dhimrs",
                 "master": "*" if master is n else "-", "name": n.name, "id": n.node_id[:4],
                 "port": 9300 + n.index,
                 "heap.current": n.heap_used, "heap.max": n.heap_max,
                 "disk.total": n.disk_total, "disk.used": n.disk_total - n.disk_available,
                 "disk.avail": n.disk_available, "disk.used_percent": f"{n.disk_used_percent:.2f}"}
                for n in cluster.up_nodes()]
        return catlib.render(req, CAT_NODES, rows)

    def cluster_settings(req: Request, **_):
        flat_settings = req.flag("flat_settings")
        if req.method == "GET":
            wait_for_master(cluster, req)
            with cluster.lock:
                st = cluster.settings
                body = {"persistent": render(st.persistent, flat_settings),
                        "transient": render(st.transient, flat_settings)}
                if req.flag("include_defaults"):
                    body["defaults"] = render(st.defaults(), flat_settings)
            return Response(200, body)
        wait_for_master(cluster, req)
        body = req.json({}) or {}
        if not isinstance(body, dict) or not any(flatten(body.get(s) or {}) for s in ("persistent", "transient")):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no settings to update;")
        with cluster.lock:
            st = cluster.settings
            saved = (dict(st.persistent), dict(st.transient))
            before = ClusterSettings()
            before.persistent, before.transient = dict(st.persistent), dict(st.transient)
            try:
                requested = {scope: flatten(body.get(scope) or {}) for scope in ("persistent", "transient")}
                changed = {scope: st.update(scope, requested[scope]) for scope in ("persistent", "transient")}
                st.validate_watermarks(before, list(requested["persistent"]) + list(requested["transient"]))
            except EsError:
                st.persistent, st.transient = saved
                raise
            cluster.apply_disk_watermarks()
        return Response(200, {"acknowledged": True,
                              "persistent": render(changed["persistent"], flat_settings),
                              "transient": render(changed["transient"], flat_settings)})

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
    router.add("GET", "/_nodes/stats", nodes_stats, "nodes.stats")
    router.add("GET", "/_nodes/stats/{metric}", nodes_stats, "nodes.stats")
    router.add("GET", "/_nodes/{node_id}/stats", nodes_stats, "nodes.stats")
    router.add("GET", "/_nodes/{node_id}/stats/{metric}", nodes_stats, "nodes.stats")
    router.add("GET", "/_nodes/_local", nodes_local, "nodes.info")
    router.add("GET", "/_nodes", nodes_all, "nodes.info")
    router.add("GET", "/_cat/indices", cat_indices, "cat.indices")
    router.add("GET", "/_cat/indices/{index}", cat_indices, "cat.indices")
    router.add("GET", "/_cat/nodes", cat_nodes, "cat.nodes")
    router.add("GET|PUT", "/_cluster/settings", cluster_settings, "cluster.settings")
    router.add("GET", "/_slm/policy", slm, "slm.get")
    router.add("GET|PUT|DELETE", "/_slm/policy/{policy}", slm, "slm.policy")
