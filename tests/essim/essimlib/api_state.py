"""GET /_cluster/state (metric and index filtering) and GET [/<i>]/_recovery,
with ES 8's shapes (ClusterState.toXContent, RecoveryState.toXContent)."""

from __future__ import annotations

import hashlib
import json
import time

from essimlib import datastreams
from essimlib.api_cluster import ROLES, VERSIONS, wait_for_master
from essimlib.cluster import Cluster, Index, new_uuid
from essimlib.http import Request, Response

STATE_METRICS = ("version", "master_node", "blocks", "nodes", "metadata", "routing_table", "routing_nodes",
                 "customs")
# ClusterBlock ids, descriptions, retryable, levels (IndexMetadata, MetadataIndexStateService).
BLOCKS = {
    "closed": ("4", "index closed", False, ["read", "write"]),
    "read_only": ("5", "index read-only (api)", False, ["write", "metadata_write"]),
    "write": ("8", "index write (api)", False, ["write"]),
    "read_only_allow_delete": ("12", "disk usage exceeded flood-stage watermark, index has read-only-allow-delete "
                                     "block", True, ["write", "metadata_write"]),
}
INDEX_VERSION = 8521000


class StateVersion:
    """The cluster state version: bumped whenever the state a reader sees differs
    from the previous reading (monotonic, changes only with the state)."""

    def __init__(self):
        self.version = 1
        self.uuid = new_uuid()
        self.fingerprint = None

    def observe(self, cluster: Cluster) -> tuple:
        m = cluster.master()
        data = json.dumps([m.name if m else None, [n.up for n in cluster.nodes],
                           cluster.settings.persistent, cluster.settings.transient,
                           sorted((n, i.uuid, i.state, i.replicas, sorted(i.blocks.items()), sorted(i.aliases),
                                   i.follow is not None) for n, i in cluster.indices.items()),
                           sorted((n, ds.indices, ds.generation, ds.replicated)
                                  for n, ds in cluster.data_streams.items()),
                           sorted(cluster.templates.items())],
                          sort_keys=True, default=str)
        fp = hashlib.sha1(data.encode()).hexdigest()
        if fp != self.fingerprint:
            if self.fingerprint is not None:
                self.version += 1
                self.uuid = new_uuid()
            self.fingerprint = fp
        return self.version, self.uuid


def register(router, cluster: Cluster) -> None:
    versions = StateVersion()

    def node_entry(n) -> dict:
        return {"name": n.name, "ephemeral_id": n.node_id[::-1], "transport_address": f"127.0.0.1:{9300 + n.index}",
                "external_id": n.name, "attributes": {}, "roles": list(ROLES),
                "version": VERSIONS[cluster.flavor]["number"], "min_index_version": 7000099,
                "max_index_version": INDEX_VERSION}

    def index_metadata(idx: Index, version: int) -> dict:
        return {"version": version, "mapping_version": 1, "settings_version": 1, "aliases_version": 1,
                "routing_num_shards": routing_num_shards(len(idx.shards)),
                "state": idx.state, "settings": idx.settings(), "mappings": {},
                "aliases": sorted(idx.aliases),
                "primary_terms": {str(sh.number): 1 for sh in idx.shards},
                "in_sync_allocations": {str(sh.number): [allocation_id(idx, sh.number, copy) for copy in
                                                         range(len(cluster.shard_nodes(idx, sh)))]
                                        for sh in idx.shards},
                "rollover_info": {}, "system": False, "timestamp_range": {"shards": []}}

    def shard_routing(idx: Index) -> dict:
        out = {}
        for sh in idx.shards:
            copies = []
            recovering = bool(sh.recovering_until and time.monotonic() < sh.recovering_until and not sh.failed)
            if cluster.primary_active(sh) or recovering:
                holders = cluster.shard_nodes(idx, sh)
            else:
                holders = []
            primary_state = "INITIALIZING" if recovering else "STARTED"
            for copy in range(1 + idx.replicas):
                node = holders[copy] if copy < len(holders) else None
                state = ("UNASSIGNED" if node is None
                         else primary_state if copy == 0 else ("UNASSIGNED" if recovering else "STARTED"))
                entry = {"state": state, "primary": copy == 0,
                         "node": cluster.nodes[node].node_id if state != "UNASSIGNED" else None,
                         "relocating_node": None, "shard": sh.number, "index": idx.name}
                if state != "UNASSIGNED":
                    entry["allocation_id"] = {"id": allocation_id(idx, sh.number, copy)}
                else:
                    reason = ("ALLOCATION_FAILED" if sh.failed else "NODE_LEFT" if copy == 0 or sh.lost
                              else "INDEX_CREATED")
                    entry["recovery_source"] = {"type": "EXISTING_STORE" if copy == 0 else "PEER"}
                    entry["unassigned_info"] = {"reason": reason,
                                                "at": "1970-01-01T00:00:00.000Z", "delayed": False,
                                                "allocation_status": "no_attempt"}
                copies.append(entry)
            out[str(sh.number)] = copies
        return out

    def state(req: Request, metrics: str = "_all", indices: str = None, **_):
        # RestClusterStateAction parses the metrics with ignoreUnknown=true.
        wanted = {m for m in metrics.split(",") if m in STATE_METRICS or m == "_all"}
        if "_all" in wanted:
            wanted = set(STATE_METRICS)
        if not req.flag("local"):
            wait_for_master(cluster, req)
        with cluster.lock:
            version, state_uuid = versions.observe(cluster)
            names = (cluster.resolve(indices, allow_missing=True, include_hidden=True) if indices
                     else list(cluster.indices))
            master = cluster.master()
            body = {"cluster_name": cluster.name, "cluster_uuid": cluster.uuid}
            if "version" in wanted:
                body["version"] = version
                body["state_uuid"] = state_uuid
            if "master_node" in wanted:
                body["master_node"] = master.node_id if master else None
            if "blocks" in wanted:
                blocks = {}
                for n in names:
                    idx = cluster.indices[n]
                    on = [b for b, v in idx.blocks.items() if v] + (["closed"] if idx.state != "open" else [])
                    if on:
                        blocks[n] = {BLOCKS[b][0]: {"description": BLOCKS[b][1], "retryable": BLOCKS[b][2],
                                                    "levels": BLOCKS[b][3]}
                                     for b in sorted(on, key=lambda b: int(BLOCKS[b][0]))}
                body["blocks"] = {"indices": blocks} if blocks else {}
            if "nodes" in wanted:
                body["nodes"] = {n.node_id: node_entry(n) for n in cluster.up_nodes()}
                body["nodes_versions"] = [{"node_id": n.node_id, "transport_version": "8797000",
                                           "mappings_versions": {}} for n in cluster.up_nodes()]
            if "metadata" in wanted:
                body["metadata"] = {
                    "cluster_uuid": cluster.uuid, "cluster_uuid_committed": True,
                    "cluster_coordination": {"term": 1, "last_committed_config": [n.node_id for n in cluster.nodes],
                                             "last_accepted_config": [n.node_id for n in cluster.nodes],
                                             "voting_config_exclusions": []},
                    "templates": {},
                    "indices": {n: index_metadata(cluster.indices[n], version) for n in sorted(names)},
                    "index-graveyard": {"tombstones": []}, **datastreams.state_metadata(cluster)}
            if "routing_table" in wanted:
                body["routing_table"] = {"indices": {n: {"shards": shard_routing(cluster.indices[n])}
                                                     for n in sorted(names)
                                                     if cluster.indices[n].state == "open"}}
            if "routing_nodes" in wanted:
                per_node = {n.node_id: [] for n in cluster.up_nodes()}
                unassigned = []
                for n in sorted(names):
                    if cluster.indices[n].state != "open":
                        continue
                    for copies in shard_routing(cluster.indices[n]).values():
                        for c in copies:
                            (per_node[c["node"]] if c["node"] in per_node else unassigned).append(c)
                body["routing_nodes"] = {"unassigned": unassigned, "nodes": per_node}
            return Response(200, body)

    def recovery(req: Request, index: str = None, **_):
        active_only = req.flag("active_only")
        now = time.monotonic()
        with cluster.lock:
            names = cluster.resolve(index or "_all", include_hidden=index is not None)
            out = {}
            for n in sorted(names):
                idx = cluster.indices[n]
                if idx.state != "open":
                    continue
                shards = []
                for sh in idx.shards:
                    if sh.failed or sh.lost:
                        continue
                    recovering = bool(sh.recovering_until and now < sh.recovering_until)
                    if active_only and not recovering:
                        continue
                    holders = cluster.shard_nodes(idx, sh)
                    for copy, node_index in enumerate(holders):
                        if copy > 0 and recovering:
                            continue  # replicas recover from the primary once it is started
                        shards.append(recovery_entry(idx, sh, copy, node_index, recovering, now))
                out[n] = {"shards": shards}
            if not out and index is None:
                return Response(200, {})
            return Response(200, out)

    def recovery_entry(idx: Index, sh, copy: int, node_index: int, recovering: bool, now: float) -> dict:
        rec = idx.recovery
        node = cluster.nodes[node_index]
        target = {"id": node.node_id, "host": "127.0.0.1", "transport_address": f"127.0.0.1:{9300 + node.index}",
                  "ip": "127.0.0.1", "name": node.name}
        start = rec["start_ms"] if rec else idx.creation_date
        duration = rec["duration_ms"] if rec else 0
        if copy > 0:
            primary = cluster.nodes[sh.primary_node]
            rtype = "PEER"
            source = {"id": primary.node_id, "host": "127.0.0.1",
                      "transport_address": f"127.0.0.1:{9300 + primary.index}", "ip": "127.0.0.1",
                      "name": primary.name}
        elif rec and not rec.get("ccr"):
            rtype = "SNAPSHOT"
            source = {"repository": rec["repository"], "snapshot": rec["snapshot"], "version": rec["version"],
                      "index": rec["index"], "restoreUUID": rec["restoreUUID"]}
        elif rec:
            rtype = "SNAPSHOT"  # a CCR follower is restored from the leader's _ccr_<alias> repository
            source = {"repository": rec["repository"], "snapshot": "_latest_", "version": rec["version"],
                      "index": rec["index"], "restoreUUID": rec["restoreUUID"]}
        else:
            rtype, source = "EMPTY_STORE", {}
        files = len(sh.segments)
        size = sum(s.size for s in sh.segments)
        done_fraction = 1.0
        if recovering and rec and rec.get("duration_ms"):
            left = max(0.0, sh.recovering_until - now)
            done_fraction = max(0.0, 1.0 - left * 1000 / rec["duration_ms"]) if rec["duration_ms"] < 10 ** 9 else 0.0
        recovered = int(size * done_fraction)
        entry = {"id": sh.number, "type": rtype, "stage": "INDEX" if recovering else "DONE",
                 "primary": copy == 0, "start_time_in_millis": start}
        if not recovering:
            entry["stop_time_in_millis"] = start + duration
        entry.update({
            "total_time_in_millis": duration if not recovering else int(time.time() * 1000) - start,
            "source": source, "target": target,
            "index": {"size": {"total_in_bytes": size, "reused_in_bytes": 0, "recovered_in_bytes": recovered,
                               "recovered_from_snapshot_in_bytes": recovered if rtype == "SNAPSHOT" else 0,
                               "percent": percent(recovered, size)},
                      "files": {"total": files, "reused": 0, "recovered": int(files * done_fraction),
                                "percent": percent(int(files * done_fraction), files)},
                      "total_time_in_millis": duration, "source_throttle_time_in_millis": 0,
                      "target_throttle_time_in_millis": 0},
            "translog": {"recovered": 0, "total": 0, "percent": "100.0%", "total_on_start": 0,
                         "total_time_in_millis": 0},
            "verify_index": {"check_index_time_in_millis": 0, "total_time_in_millis": 0}})
        return entry

    router.add("GET", "/_cluster/state", state, "cluster.state")
    router.add("GET", "/_cluster/state/{metrics}", state, "cluster.state")
    router.add("GET", "/_cluster/state/{metrics}/{indices}", state, "cluster.state")
    router.add("GET", "/_recovery", recovery, "indices.recovery")
    router.add("GET", "/{index}/_recovery", recovery, "indices.recovery")


def routing_num_shards(shards: int) -> int:
    """MetadataCreateIndexService.calculateNumRoutingShards (7.0+)."""
    log2_shards = (shards - 1).bit_length()
    return shards << max(1, 10 - log2_shards)


def allocation_id(idx: Index, shard: int, copy: int) -> str:
    return hashlib.sha1(f"{idx.uuid}/{shard}/{copy}".encode()).hexdigest()[:22]


def percent(part: int, whole: int) -> str:
    return "100.0%" if whole == 0 else f"{100.0 * part / whole:.1f}%"
