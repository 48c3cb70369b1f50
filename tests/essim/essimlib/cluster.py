"""The simulated cluster: nodes, master election, indices, shard allocation,
health, documents and segments. One Cluster per essim process; every public
method takes the cluster lock.

Health follows ES (ClusterShardHealth): a shard is red when its primary is
not active, yellow when a replica is unassigned or the primary is being
restored from a snapshot, green otherwise; an index is its worst shard, the
cluster its worst index.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Optional

from essimlib import datastreams
from essimlib.errors import (BLOCK_READ_ONLY, BLOCK_READ_ONLY_ALLOW_DELETE, BLOCK_WRITE, EsError,
                             illegal_argument, index_not_found, write_blocked)
from essimlib.settings import ClusterSettings

GIB = 1024 ** 3

RANK = {"green": 0, "yellow": 1, "red": 2}


def new_uuid() -> str:
    """A 22-character url-safe id, like ES's UUIDs."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class Node:
    name: str
    index: int
    node_id: str = field(default_factory=new_uuid)
    up: bool = True
    # Vitals reported by _nodes/stats, settable on the control port. Defaults:
    # a 100 GiB data disk 30% used, a 1 GiB heap 30% used.
    disk_total: int = 100 * GIB
    disk_available: int = 70 * GIB
    heap_max: int = GIB
    heap_used: int = -(-3 * GIB // 10)  # ceil: heap_used_percent (integer division, as ES) is 30
    started: float = field(default_factory=time.time)

    @property
    def heap_used_percent(self) -> int:
        return self.heap_used * 100 // self.heap_max  # JvmStats: integer division

    @property
    def disk_used_percent(self) -> float:
        return 100.0 * (self.disk_total - self.disk_available) / self.disk_total


@dataclass
class Segment:
    """Operations since the previous segment: ("index", id, source) or ("delete", id, None)."""
    seg_id: str
    ops: list = field(default_factory=list)
    size: int = 0


@dataclass
class Shard:
    number: int
    primary_node: int           # node index holding the primary
    lost: bool = False          # primary lost with no copy left (forced red)
    failed: bool = False        # restore allocation failed
    recovering_until: float = 0.0  # restore in progress until this monotonic time
    segments: list = field(default_factory=list)  # sealed segments
    open_ops: list = field(default_factory=list)  # ops not yet in a sealed segment
    open_size: int = 0
    seq_no: int = 0             # the next sequence number; max_seq_no is seq_no - 1
    # Every operation, in seq_no order: (seq_no, "index"|"delete", id, source, version).
    # ES keeps this history with soft deletes; CCR followers read it.
    history: list = field(default_factory=list)

    def seal(self) -> None:
        """Turns the open operations into an immutable segment (a refresh/flush)."""
        if self.open_ops:
            self.segments.append(Segment(new_uuid(), self.open_ops, self.open_size))
            self.open_ops, self.open_size = [], 0


@dataclass
class Index:
    name: str
    uuid: str
    shards: list
    replicas: int
    state: str = "open"
    blocks: dict = field(default_factory=dict)      # "write"/"read_only" -> True
    aliases: dict = field(default_factory=dict)     # alias -> {"is_write_index": bool}
    docs: dict = field(default_factory=dict)        # id -> {"source", "version", "seq_no", "shard"}
    creation_date: int = field(default_factory=lambda: int(time.time() * 1000))
    hidden: bool = False
    snapshotting: int = 0                           # running snapshots reading it
    recovery: Optional[dict] = None                 # restore source (for _recovery), None: created empty
    follow: Optional[dict] = None                   # CCR follower: remote_cluster, leader_index, ..., status

    def shard_of(self, doc_id: str) -> Shard:
        return self.shards[zlib.crc32(doc_id.encode()) % len(self.shards)]

    def settings(self) -> dict:
        s = {"index": {"number_of_shards": str(len(self.shards)),
                       "number_of_replicas": str(self.replicas),
                       "uuid": self.uuid, "provided_name": self.name,
                       "creation_date": str(self.creation_date),
                       "version": {"created": "8512000"}}}
        if self.hidden:
            s["index"]["hidden"] = "true"
        if self.blocks:
            s["index"]["blocks"] = {k: "true" for k, v in self.blocks.items() if v}
        if self.follow is not None:
            s["index"]["xpack"] = {"ccr": {"following_index": "true"}}
        return s


class Cluster:
    def __init__(self, name: str, node_count: int, flavor: str = "es8"):
        self.lock = threading.RLock()
        self.name = name
        self.uuid = new_uuid()
        self.flavor = flavor
        self.nodes = [Node(f"{name}-n{i + 1}", i) for i in range(node_count)]
        self.indices: dict[str, Index] = {}
        self.settings = ClusterSettings()
        self.master_wait = 30.0          # seconds a node without master waits (ES master_timeout)
        self.fail_next_restore = False   # control: the next restore's shards cannot be allocated
        self.slm_policies: dict = {}
        self.templates: dict = {}        # composable index templates, as normalised (datastreams)
        self.data_streams: dict = {}     # name -> datastreams.DataStream

    # ---- nodes and master -------------------------------------------------

    def up_nodes(self) -> list:
        return [n for n in self.nodes if n.up]

    def has_master(self) -> bool:
        return len(self.up_nodes()) * 2 > len(self.nodes)

    def master(self) -> Optional[Node]:
        ups = self.up_nodes()
        return ups[0] if ups and self.has_master() else None

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def set_node_up(self, name: str, up: bool) -> None:
        with self.lock:
            node = self.node(name)
            if node.up == up:
                return
            had_copy = len(self.up_nodes()) >= 2
            node.up = up
            if not up:
                # Promote a replica where one existed; otherwise the primary is
                # unassigned until its node returns.
                for idx in self.indices.values():
                    for sh in idx.shards:
                        if sh.primary_node == node.index and idx.replicas >= 1 and had_copy:
                            others = [n.index for n in self.up_nodes()]
                            if others:
                                sh.primary_node = others[0]
            self.apply_disk_watermarks()

    # ---- allocation and health -------------------------------------------

    def primary_active(self, sh: Shard) -> bool:
        if sh.lost or sh.failed:
            return False
        if sh.recovering_until and time.monotonic() < sh.recovering_until:
            return False
        return self.nodes[sh.primary_node].up

    def shard_health(self, idx: Index, sh: Shard) -> str:
        now = time.monotonic()
        if sh.recovering_until and now < sh.recovering_until and not sh.failed:
            return "yellow"  # initializing from SNAPSHOT: yellow, not red
        if not self.primary_active(sh):
            return "red"
        if self.active_replicas(idx) < idx.replicas:
            return "yellow"
        return "green"

    def active_replicas(self, idx: Index) -> int:
        return min(idx.replicas, max(0, len(self.up_nodes()) - 1))

    def index_health(self, idx: Index) -> str:
        worst = "green"
        for sh in idx.shards:
            h = self.shard_health(idx, sh)
            if RANK[h] > RANK[worst]:
                worst = h
        return worst

    def health(self, indices: Optional[list] = None, level: str = "cluster") -> dict:
        with self.lock:
            now = time.monotonic()
            selected = [self.indices[n] for n in (indices if indices is not None else self.indices)]
            status = "green"
            counters = dict(active_primary_shards=0, active_shards=0, relocating_shards=0,
                            initializing_shards=0, unassigned_shards=0, unassigned_primary_shards=0)
            per_index = {}
            total = 0
            for idx in selected:
                ih = self.index_health(idx)
                if RANK[ih] > RANK[status]:
                    status = ih
                ic = dict(active_primary_shards=0, active_shards=0, relocating_shards=0,
                          initializing_shards=0, unassigned_shards=0, unassigned_primary_shards=0)
                shard_detail = {}
                for sh in idx.shards:
                    copies = 1 + idx.replicas
                    total += copies
                    recovering = bool(sh.recovering_until and now < sh.recovering_until and not sh.failed)
                    if recovering:
                        ic["initializing_shards"] += 1
                        ic["unassigned_shards"] += idx.replicas
                        active = 0
                    elif self.primary_active(sh):
                        active = 1 + self.active_replicas(idx)
                        ic["active_primary_shards"] += 1
                        ic["active_shards"] += active
                        ic["unassigned_shards"] += copies - active
                    else:
                        active = 0
                        ic["unassigned_shards"] += copies
                        ic["unassigned_primary_shards"] += 1
                    shard_detail[str(sh.number)] = {
                        "status": self.shard_health(idx, sh), "primary_active": active > 0,
                        "active_shards": active, "relocating_shards": 0,
                        "initializing_shards": 1 if recovering else 0,
                        "unassigned_shards": copies - active - (1 if recovering else 0),
                        "unassigned_primary_shards": 0 if active or recovering else 1}
                for k in counters:
                    counters[k] += ic[k]
                entry = {"status": ih, "number_of_shards": len(idx.shards),
                         "number_of_replicas": idx.replicas, **ic}
                if level == "shards":
                    entry["shards"] = shard_detail
                per_index[idx.name] = entry
            active = counters["active_shards"]
            body = {"cluster_name": self.name, "status": status, "timed_out": False,
                    "number_of_nodes": len(self.up_nodes()),
                    "number_of_data_nodes": len(self.up_nodes()), **counters,
                    "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
                    "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
                    "active_shards_percent_as_number": 100.0 if total == 0 else active * 100.0 / total}
            if self.flavor == "es7":
                body.pop("unassigned_primary_shards")
            elif self.flavor == "opensearch2":
                body.pop("unassigned_primary_shards")
                body["discovered_master"] = True
                body["discovered_cluster_manager"] = True
            if level in ("indices", "shards"):
                body["indices"] = per_index
            return body

    # ---- indices ----------------------------------------------------------

    def create_index(self, name: str, shards: int = 1, replicas: int = 1, hidden: bool = False,
                     aliases: Optional[dict] = None) -> Index:
        with self.lock:
            validate_index_name(name)
            if name in self.indices:
                raise EsError(400, "resource_already_exists_exception",
                              f"index [{name}/{self.indices[name].uuid}] already exists",
                              {"index_uuid": self.indices[name].uuid, "index": name})
            if not self.has_master():
                raise master_not_discovered()
            self.check_shard_limit(shards * (1 + replicas))
            ups = [n.index for n in self.up_nodes()]
            idx = Index(name, new_uuid(), [Shard(i, ups[i % len(ups)]) for i in range(shards)],
                        replicas, hidden=hidden or name.startswith("."))
            idx.aliases = aliases or {}
            self.indices[name] = idx
            self.apply_disk_watermarks()
            return idx

    def get_index(self, name: str) -> Index:
        idx = self.indices.get(name)
        if idx is None:
            raise index_not_found(name)
        return idx

    def resolve(self, expression: str, allow_missing: bool = False, include_closed: bool = True,
                include_hidden: bool = False, data_streams: Optional[bool] = True) -> list:
        """Index names for an expression: names, aliases, wildcards, _all, -exclusions.

        Data streams as IndexNameExpressionResolver treats them: with
        `data_streams` (the APIs that include them: search, count, refresh,
        settings, _cat/indices, health, close, open, ...) a data stream's name
        stands for its backing indices, and `_all`, `*` and wildcards matching
        the name of a visible data stream take its backing indices, hidden as
        they are; `False`: naming one is 400 (delete index), `None`: skipped
        (follow info). Hidden indices (backing indices too) are matched by a
        wildcard only with include_hidden or when the pattern starts with a dot."""
        with self.lock:
            names: list = []
            for part in [p for p in expression.split(",") if p]:
                exclude = part.startswith("-") and names
                pattern = part[1:] if exclude else part
                if pattern in ("_all", "*"):
                    matched = [n for n, i in self.indices.items()
                               if include_hidden or not i.hidden]
                    if data_streams:
                        matched += [b for ds in self.data_streams.values() if include_hidden or not ds.hidden
                                    for b in ds.indices]
                elif "*" in pattern:
                    matched = [n for n, i in self.indices.items()
                               if fnmatch.fnmatchcase(n, pattern) and (include_hidden or not i.hidden
                                                                        or pattern.startswith("."))]
                    if data_streams:
                        matched += [b for n, ds in sorted(self.data_streams.items())
                                    if fnmatch.fnmatchcase(n, pattern)
                                    and (include_hidden or not ds.hidden or pattern.startswith("."))
                                    for b in ds.indices]
                elif pattern in self.indices:
                    matched = [pattern]
                elif pattern in self.data_streams:
                    if data_streams is False:
                        raise illegal_argument(f"The provided expression [{pattern}] matches a data stream, "
                                               "specify the corresponding concrete indices instead.")
                    matched = list(self.data_streams[pattern].indices) if data_streams else []
                else:
                    matched = [n for n, i in self.indices.items() if pattern in i.aliases]
                    if not matched and not allow_missing and not exclude:
                        raise index_not_found(pattern)
                if exclude:
                    names = [n for n in names if n not in matched]
                else:
                    names += [n for n in matched if n not in names and n in self.indices]
            if not include_closed:
                names = [n for n in names if self.indices[n].state == "open"]
            return names

    def check_writable(self, idx: Index) -> None:
        if idx.state != "open":
            raise EsError(400, "index_closed_exception", "closed", {"index_uuid": idx.uuid, "index": idx.name})
        blocks = self.write_blocks(idx)
        if blocks:
            raise write_blocked(idx.name, ", ".join(blocks))
        if idx.follow is not None:
            # FollowingEngine.preFlight: only operations replicated from the leader.
            raise EsError(403, "status_exception",
                          "a following engine does not accept operations without an assigned sequence number")

    @staticmethod
    def write_blocks(idx: Index) -> list:
        """The index's blocks at the WRITE level, in block-id order, as ES lists them."""
        return [desc for name, desc in (("read_only", BLOCK_READ_ONLY), ("write", BLOCK_WRITE),
                                        ("read_only_allow_delete", BLOCK_READ_ONLY_ALLOW_DELETE))
                if idx.blocks.get(name)]

    # ---- shard placement, disk watermarks, shard limit ----------------------

    def shard_nodes(self, idx: Index, sh: Shard) -> list:
        """Node indexes holding a copy of this shard: its primary's node, then
        its active replicas on the next live nodes."""
        out = [sh.primary_node]
        ups = [n.index for n in self.up_nodes() if n.index != sh.primary_node]
        ups = sorted(ups, key=lambda i: (i - sh.primary_node) % len(self.nodes))
        return out + ups[:self.active_replicas(idx)]

    def apply_disk_watermarks(self) -> None:
        """ES's DiskThresholdMonitor: every index with a shard on a node over
        the flood-stage watermark gets index.blocks.read_only_allow_delete;
        the block goes away once no node holding its shards is over the high
        watermark. essim runs it whenever disks, settings or allocation change
        (ES: every cluster.info.update.interval)."""
        with self.lock:
            if self.settings.get("cluster.routing.allocation.disk.threshold_enabled") != "true":
                return
            flood = self.settings.watermark("flood_stage")
            high = self.settings.watermark("high")
            over_flood = {n.index for n in self.nodes if n.up and flood.exceeded(n.disk_total, n.disk_available)}
            over_high = {n.index for n in self.nodes if n.up and high.exceeded(n.disk_total, n.disk_available)}
            for idx in self.indices.values():
                on = set()
                for sh in idx.shards:
                    on.update(self.shard_nodes(idx, sh))
                if on & over_flood:
                    idx.blocks["read_only_allow_delete"] = True
                elif idx.blocks.get("read_only_allow_delete") and not on & over_high:
                    del idx.blocks["read_only_allow_delete"]

    def open_shards(self, exclude: tuple = ()) -> int:
        return sum(len(i.shards) * (1 + i.replicas) for n, i in self.indices.items()
                   if i.state == "open" and n not in exclude)

    def check_shard_limit(self, new_shards: int, exclude: tuple = ()) -> None:
        """ShardLimitValidator: cluster.max_shards_per_node x data nodes, over open indices."""
        limit = self.settings.int("cluster.max_shards_per_node") * len(self.up_nodes())
        current = self.open_shards(exclude)
        if current + new_shards > limit:
            raise EsError(400, "validation_exception",
                          f"Validation Failed: 1: this action would add [{new_shards}] shards, but this cluster "
                          f"currently has [{current}]/[{limit}] maximum normal shards open;")

    def write_doc(self, index: str, doc_id: Optional[str], source: dict, op_type: str = "index") -> dict:
        """Indexes one document; returns the bulk-item/_doc result body.

        A data stream's name (or a missing name a data stream template
        matches: the data stream is created) takes only op_type create, a
        document with @timestamp, into its write index; a backing index
        takes no direct write (TransportBulkAction)."""
        with self.lock:
            ds = self.data_streams.get(index)
            if (ds is None and index not in self.indices and not index.startswith("_")
                    and not any(index in i.aliases for i in self.indices.values())):
                ds = datastreams.auto_create(self, index)
            if ds is not None:
                if op_type != "create":
                    raise illegal_argument("only write ops with an op_type of create are allowed in data streams")
                if not isinstance(source, dict) or datastreams.TIMESTAMP_FIELD not in source:
                    reason = f"data stream timestamp field [{datastreams.TIMESTAMP_FIELD}] is missing"
                    raise EsError(400, "document_parsing_exception", f"[1:1] failed to parse: {reason}",
                                  caused_by={"type": "illegal_argument_exception", "reason": reason})
                index = ds.write_index
            else:
                backs = datastreams.of_index(self, index)
                if backs is not None:
                    detail = "" if op_type == "create" else " and no if_primary_term and if_seq_no set"
                    raise illegal_argument(f"index request with op_type={op_type}{detail} targeting backing indices "
                                           f"is disallowed, target corresponding data stream [{backs.name}] instead")
            if index not in self.indices:
                if index.startswith("_") or index != index.lower():
                    validate_index_name(index)
                self.create_index(index)
            idx = self.indices[index]
            self.check_writable(idx)
            doc_id = doc_id or new_uuid()
            sh = idx.shard_of(doc_id)
            if not self.primary_active(sh):
                raise EsError(503, "unavailable_shards_exception",
                              f"[{index}][{sh.number}] primary shard is not active Timeout: [1m], "
                              f"request: [BulkShardRequest [[{index}][{sh.number}]] containing [index {{[{index}][{doc_id}]}}]]")
            old = idx.docs.get(doc_id)
            if op_type == "create" and old is not None:
                raise EsError(409, "version_conflict_engine_exception",
                              f"[{doc_id}]: version conflict, document already exists (current version [{old['version']}])",
                              {"index_uuid": idx.uuid, "shard": str(sh.number), "index": index})
            version = 1 if old is None else old["version"] + 1
            seq_no = sh.seq_no
            sh.seq_no += 1
            idx.docs[doc_id] = {"source": source, "version": version, "seq_no": seq_no, "shard": sh.number}
            sh.history.append((seq_no, "index", doc_id, source, version))
            size = len(json.dumps(source)) + len(doc_id) + 16
            sh.open_ops.append(("index", doc_id, source))
            sh.open_size += size
            return {"_index": index, "_id": doc_id, "_version": version,
                    "result": "created" if old is None else "updated",
                    "_shards": self.shards_header(idx), "_seq_no": seq_no, "_primary_term": 1}

    def delete_doc(self, index: str, doc_id: str) -> dict:
        with self.lock:
            if index in self.data_streams:
                raise illegal_argument("only write ops with an op_type of create are allowed in data streams")
            idx = self.get_index(index)
            self.check_writable(idx)
            sh = idx.shard_of(doc_id)
            old = idx.docs.pop(doc_id, None)
            seq_no = sh.seq_no
            sh.seq_no += 1
            sh.history.append((seq_no, "delete", doc_id, None, (old["version"] + 1) if old else 1))
            if old is not None:
                sh.open_ops.append(("delete", doc_id, None))
                sh.open_size += len(doc_id) + 16
            return {"_index": index, "_id": doc_id, "_version": (old["version"] + 1) if old else 1,
                    "result": "deleted" if old else "not_found",
                    "_shards": self.shards_header(idx), "_seq_no": seq_no, "_primary_term": 1}

    def apply_replicated(self, name: str, index_uuid: str, shard: int, ops: list) -> int:
        """A CCR follower's write: the leader's operations with their own
        sequence numbers, in order; those already applied are skipped.
        Returns how many were applied. Raises if the follower index is gone
        (or was re-created) or closed."""
        with self.lock:
            idx = self.indices.get(name)
            if idx is None or idx.uuid != index_uuid:
                raise index_not_found(name)
            if idx.state != "open":
                raise EsError(400, "index_closed_exception", "closed", {"index_uuid": idx.uuid, "index": name})
            sh = idx.shards[shard]
            applied = 0
            for seq_no, op, doc_id, source, version in ops:
                if seq_no < sh.seq_no:
                    continue
                if op == "index":
                    idx.docs[doc_id] = {"source": source, "version": version, "seq_no": seq_no, "shard": shard}
                    sh.open_ops.append(("index", doc_id, source))
                    sh.open_size += len(json.dumps(source)) + len(doc_id) + 16
                else:
                    if idx.docs.pop(doc_id, None) is not None:
                        sh.open_ops.append(("delete", doc_id, None))
                        sh.open_size += len(doc_id) + 16
                sh.history.append((seq_no, op, doc_id, source, version))
                sh.seq_no = seq_no + 1
                applied += 1
            return applied

    def shards_header(self, idx: Index) -> dict:
        return {"total": 1 + idx.replicas, "successful": 1 + self.active_replicas(idx), "failed": 0}

    def searchable(self, names: list) -> tuple:
        """(docs visible in these indices, shard counts) for search and count.

        Raises ES's errors for closed indices and for indices with no active shard."""
        with self.lock:
            docs, total, failed = [], 0, 0
            for n in names:
                idx = self.indices[n]
                if idx.state != "open":
                    raise EsError(400, "index_closed_exception", "closed", {"index_uuid": idx.uuid, "index": n})
                for sh in idx.shards:
                    total += 1
                    if not self.primary_active(sh):
                        failed += 1
                for doc_id, d in idx.docs.items():
                    if self.primary_active(idx.shards[d["shard"]]):
                        docs.append((n, doc_id, d))
            if total and failed == total:
                raise EsError(503, "search_phase_execution_exception", "all shards failed",
                              {"phase": "query", "grouped": True, "failed_shards": []})
            return docs, {"total": total, "successful": total - failed, "skipped": 0, "failed": failed}


def validate_index_name(name: str) -> None:
    bad = set('\\/*?"<>| ,#:')
    if (not name or name != name.lower() or any(c in bad for c in name) or name[0] in "-_+"
            or name in (".", "..") or len(name.encode()) > 255):
        raise EsError(400, "invalid_index_name_exception",
                      f"Invalid index name [{name}], must be lowercase and must not contain "
                      f"'\\', '/', '*', '?', '\"', '<', '>', '|', ' ', ',', '#', ':' "
                      f"or start with '-', '_', '+'",
                      {"index_uuid": "_na_", "index": name})


def master_not_discovered() -> EsError:
    # ES sends this one with "reason": null.
    return EsError(503, "master_not_discovered_exception", None)
