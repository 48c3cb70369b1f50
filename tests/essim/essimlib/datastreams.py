"""Data streams and composable index templates, as ES 8 keeps them
(DataStream, MetadataIndexTemplateService, MetadataCreateDataStreamService,
MetadataRolloverService, MetadataDataStreamsService): the DataStream record,
the templates' normalisation, matching (findV2Template) and overlap check,
and the operations on a Cluster's `templates` and `data_streams` (create,
create on first write, roll over, delete, promote, a CCR follower joining
its replicated data stream). Every function takes the cluster lock; the
REST handlers are in api_data_stream, the resolution of names to backing
indices in Cluster.resolve."""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from essimlib.errors import EsError, illegal_argument, index_not_found

if TYPE_CHECKING:
    from essimlib.cluster import Cluster

TIMESTAMP_FIELD = "@timestamp"
TEMPLATE_KEYS = ("index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream",
                 "allow_auto_create", "ignore_missing_component_templates", "deprecated")


@dataclass
class DataStream:
    name: str
    indices: list                   # backing index names, oldest first; the last one is the write index
    generation: int = 1
    replicated: bool = False        # a CCR follower's copy of a leader's data stream (until promoted)
    hidden: bool = False

    @property
    def write_index(self) -> str:
        return self.indices[-1]


def backing_index_name(stream: str, generation: int, millis: Optional[int] = None) -> str:
    """DataStream.getDefaultBackingIndexName: .ds-<stream>-<yyyy.MM.dd>-<generation, 6 digits> (UTC)."""
    millis = int(time.time() * 1000) if millis is None else millis
    return f".ds-{stream}-{time.strftime('%Y.%m.%d', time.gmtime(millis / 1000))}-{generation:06d}"


# ---- composable index templates ----------------------------------------------

def flat_settings(settings: dict, prefix: str = "") -> dict:
    """Index settings as flat keys with the `index.` prefix, string values (as Settings keeps them)."""
    out = {}
    for k, v in (settings or {}).items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flat_settings(v, key))
        else:
            out[key if key.startswith("index.") else "index." + key] = (
                str(v).lower() if isinstance(v, bool) else None if v is None else str(v))
    return out


def nest(flat: dict) -> dict:
    out: dict = {}
    for key, value in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def normalize_template(body: dict) -> dict:
    """A PUT /_index_template body as ES stores and shows it (ComposableIndexTemplate.toXContent)."""
    if not isinstance(body, dict):
        raise EsError(400, "x_content_parse_exception", "[1:1] [index_template] failed to parse object")
    for key in body:
        if key not in TEMPLATE_KEYS:
            raise EsError(400, "x_content_parse_exception", f"[1:2] [index_template] unknown field [{key}]")
    patterns = body.get("index_patterns")
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
    out = {"index_patterns": list(patterns)}
    spec = body.get("template")
    if spec is not None:
        tmpl = {}
        if spec.get("settings"):
            tmpl["settings"] = nest(flat_settings(spec["settings"]))
        for key in ("mappings", "aliases", "lifecycle"):
            if spec.get(key) is not None:
                tmpl[key] = spec[key]
        out["template"] = tmpl
    out["composed_of"] = list(body.get("composed_of") or [])
    for key in ("priority", "version", "_meta", "allow_auto_create", "ignore_missing_component_templates",
                "deprecated"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("data_stream") is not None:
        ds = body["data_stream"] or {}
        out["data_stream"] = {"hidden": bool(ds.get("hidden", False)),
                              "allow_custom_routing": bool(ds.get("allow_custom_routing", False))}
    return out


def patterns_overlap(a: str, b: str) -> bool:
    """Whether some name matches both globs (ES intersects their automatons;
    essim compares the literal parts before the first and after the last `*`)."""
    if fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a):
        return True
    if "*" not in a or "*" not in b:
        return False
    pa, sa = a.split("*")[0], a.split("*")[-1]
    pb, sb = b.split("*")[0], b.split("*")[-1]
    return (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa))


def put_template(cluster: "Cluster", name: str, body: dict) -> None:
    tmpl = normalize_template(body)
    priority = int(tmpl.get("priority") or 0)
    with cluster.lock:
        clashes = {}
        for other, t in sorted(cluster.templates.items()):
            if other == name or int(t.get("priority") or 0) != priority:
                continue
            if any(patterns_overlap(p, q) for p in tmpl["index_patterns"] for q in t["index_patterns"]):
                clashes[other] = t["index_patterns"]
        if clashes:
            raise illegal_argument(
                f"index template [{name}] has index patterns {java_list(tmpl['index_patterns'])} matching patterns "
                f"from existing templates [{','.join(clashes)}] with patterns "
                f"({','.join(f'{n} => {java_list(p)}' for n, p in clashes.items())}) that have the same priority "
                f"[{priority}], multiple index templates may not match during index creation, please use a "
                "different priority")
        cluster.templates[name] = tmpl


def get_templates(cluster: "Cluster", name: Optional[str]) -> list:
    with cluster.lock:
        if name is None or name in ("*", "_all"):
            names = sorted(cluster.templates)
        elif "*" in name:
            names = sorted(n for n in cluster.templates if fnmatch.fnmatchcase(n, name))
        elif name in cluster.templates:
            names = [name]
        else:
            raise EsError(404, "resource_not_found_exception", f"index template matching [{name}] not found")
        return [{"name": n, "index_template": cluster.templates[n]} for n in names]


def delete_templates(cluster: "Cluster", expression: str) -> None:
    with cluster.lock:
        names = set()
        for part in expression.split(","):
            if "*" in part:
                names.update(n for n in cluster.templates if fnmatch.fnmatchcase(n, part))
            elif part in cluster.templates:
                names.add(part)
            else:
                raise EsError(404, "index_template_missing_exception", f"index_template [{part}] missing")
        # MetadataIndexTemplateService: a template a data stream needs (no other would match it) stays.
        remaining = {n: t for n, t in cluster.templates.items() if n not in names}
        users = sorted(ds for ds in cluster.data_streams
                       if find_template(cluster, ds) in names and find_template(cluster, ds, remaining) is None)
        if users:
            raise illegal_argument(f"unable to remove composable templates {java_list(sorted(names))} as they are "
                                   f"in use by a data streams {java_list(users)}")
        for n in names:
            del cluster.templates[n]


def find_template(cluster: "Cluster", name: str, templates: Optional[dict] = None) -> Optional[str]:
    """findV2Template: the matching composable template of highest priority."""
    best = None
    for tname, t in sorted((templates if templates is not None else cluster.templates).items()):
        if any(fnmatch.fnmatchcase(name, p) for p in t["index_patterns"]):
            prio = int(t.get("priority") or 0)
            if best is None or prio > best[0]:
                best = (prio, tname)
    return best[1] if best else None


def data_stream_template(cluster: "Cluster", name: str) -> dict:
    """MetadataRolloverService.lookupTemplateForDataStream."""
    tname = find_template(cluster, name)
    if tname is None:
        raise illegal_argument(f"no matching index template found for data stream [{name}]")
    tmpl = cluster.templates[tname]
    if tmpl.get("data_stream") is None:
        raise illegal_argument(f"matching index template [{tname}] for data stream [{name}] has no data stream "
                               "template")
    return tmpl


def template_shards(tmpl: dict) -> tuple:
    """number_of_shards and number_of_replicas of the template's settings (essim's index defaults: 1 and 1)."""
    s = flat_settings((tmpl.get("template") or {}).get("settings") or {})
    return int(s.get("index.number_of_shards", 1)), int(s.get("index.number_of_replicas", 1))


def java_list(items) -> str:
    return "[" + ", ".join(items) + "]"


# ---- data streams ---------------------------------------------------------------

def validate_name(name: str) -> None:
    """MetadataCreateDataStreamService.validateDataStreamName, then the index name rules."""
    from essimlib.cluster import validate_index_name
    for bad in ("#", ":"):
        if bad in name:
            raise illegal_argument(f"data_stream [{name}] must not contain '{bad}'")
    if name.startswith("_"):
        raise illegal_argument(f"data_stream [{name}] must not start with '_'")
    if name.startswith(".ds-"):
        raise illegal_argument(f"data_stream [{name}] must not start with '.ds-'")
    validate_index_name(name)


def create(cluster: "Cluster", name: str) -> DataStream:
    """PUT /_data_stream/<name>, or a first write to a name a data stream template matches."""
    with cluster.lock:
        validate_name(name)
        if (name in cluster.data_streams or name in cluster.indices
                or any(name in i.aliases for i in cluster.indices.values())):
            raise EsError(400, "resource_already_exists_exception", f"data_stream [{name}] already exists")
        tmpl = data_stream_template(cluster, name)
        shards, replicas = template_shards(tmpl)
        backing = backing_index_name(name, 1)
        cluster.create_index(backing, shards, replicas, hidden=True)
        ds = DataStream(name, [backing], 1, hidden=tmpl["data_stream"]["hidden"])
        cluster.data_streams[name] = ds
        return ds


def auto_create(cluster: "Cluster", name: str) -> Optional[DataStream]:
    """A write to a missing name: a data stream when the template that matches it has `data_stream`."""
    with cluster.lock:
        tname = find_template(cluster, name)
        if tname is None or cluster.templates[tname].get("data_stream") is None:
            return None
        return create(cluster, name)


def of_index(cluster: "Cluster", index: str) -> Optional[DataStream]:
    """The data stream an index backs, if any."""
    for ds in cluster.data_streams.values():
        if index in ds.indices:
            return ds
    return None


def write_indices(cluster: "Cluster", names: list) -> list:
    """The names that are some data stream's write index."""
    writers = {ds.write_index for ds in cluster.data_streams.values()}
    return [n for n in names if n in writers]


def resolve(cluster: "Cluster", expression: str, include_hidden: bool = False) -> list:
    """Data stream names for GET/DELETE /_data_stream/<expression>: names, `*` wildcards, `_all`;
    a missing concrete name is 404 `no such index`."""
    with cluster.lock:
        out: list = []
        for part in [p for p in (expression or "*").split(",") if p]:
            if part in ("_all", "*") or "*" in part:
                matched = sorted(n for n, ds in cluster.data_streams.items()
                                 if fnmatch.fnmatchcase(n, "*" if part == "_all" else part)
                                 and (include_hidden or not ds.hidden or part.startswith(".")))
            elif part in cluster.data_streams:
                matched = [part]
            else:
                raise index_not_found(part)
            out += [n for n in matched if n not in out]
        return sorted(out)


def info(cluster: "Cluster", name: str) -> dict:
    """One entry of GET /_data_stream (TransportGetDataStreamsAction, DataStreamInfo)."""
    from essimlib.cluster import RANK
    ds = cluster.data_streams[name]
    worst = "green"
    for n in ds.indices:
        idx = cluster.indices.get(n)
        h = cluster.index_health(idx) if idx is not None else "red"
        if RANK[h] > RANK[worst]:
            worst = h
    entry = {"name": name, "timestamp_field": {"name": TIMESTAMP_FIELD},
             "indices": [{"index_name": n, "index_uuid": cluster.indices[n].uuid if n in cluster.indices else "_na_",
                          "prefer_ilm": True, "managed_by": "Unmanaged"} for n in ds.indices],
             "generation": ds.generation, "status": worst.upper()}
    tname = find_template(cluster, name)
    if tname is not None:  # none on a follower that lacks the leader's template
        entry["template"] = tname
    entry.update({"next_generation_managed_by": "Unmanaged", "prefer_ilm": True, "hidden": ds.hidden,
                  "system": False, "allow_custom_routing": False, "replicated": ds.replicated,
                  "rollover_on_write": False})
    return entry


def delete(cluster: "Cluster", expression: str) -> list:
    """DELETE /_data_stream/<expression>: the data streams and all their backing indices."""
    with cluster.lock:
        names = resolve(cluster, expression, include_hidden=True)
        busy = [n for n in names if any(cluster.indices[i].snapshotting for i in cluster.data_streams[n].indices
                                        if i in cluster.indices)]
        if busy:
            raise EsError(400, "snapshot_in_progress_exception",
                          f"Cannot delete data streams that are being snapshotted: {java_list(busy)}. Try again "
                          "after snapshot finishes or cancel the currently running snapshot.")
        for n in names:
            for backing in cluster.data_streams.pop(n).indices:
                cluster.indices.pop(backing, None)
        return names


def promote(cluster: "Cluster", name: str) -> None:
    """POST /_data_stream/_promote/<name> (PromoteDataStreamTransportAction)."""
    with cluster.lock:
        ds = cluster.data_streams.get(name)
        if ds is None:
            raise EsError(404, "resource_not_found_exception", f"data stream [{name}] does not exist")
        ds.replicated = False


def rollover(cluster: "Cluster", ds: DataStream, dry_run: bool) -> tuple:
    """MetadataRolloverService.rolloverDataStream: the template first, then the
    replicated check, then a new write index of generation + 1. Returns (old, new)."""
    with cluster.lock:
        tmpl = data_stream_template(cluster, ds.name)
        if ds.replicated:
            raise illegal_argument(f"data stream [{ds.name}] cannot be rolled over, because it is a replicated "
                                   "data stream")
        generation = ds.generation
        while True:
            generation += 1
            new = backing_index_name(ds.name, generation)
            if new not in cluster.indices and new not in cluster.data_streams:
                break
        old = ds.write_index
        if not dry_run:
            shards, replicas = template_shards(tmpl)
            cluster.create_index(new, shards, replicas, hidden=True)
            ds.indices.append(new)
            ds.generation = generation
        return old, new


def join_replicated(cluster: "Cluster", name: str, follower: str, generation: int, hidden: bool) -> None:
    """TransportPutFollowAction.updateLocalDataStream: a follower of a leader's
    backing index joins the local data stream of the same name, created
    replicated on the first one; backing indices stay sorted by name."""
    with cluster.lock:
        ds = cluster.data_streams.get(name)
        if ds is None:
            cluster.data_streams[name] = DataStream(name, [follower], generation, replicated=True, hidden=hidden)
            return
        if follower not in ds.indices:
            ds.indices = sorted(ds.indices + [follower])
        ds.generation = generation


def check_can_follow(cluster: "Cluster", name: str, follower: str) -> None:
    ds = cluster.data_streams.get(name)
    if ds is not None and not ds.replicated:
        raise illegal_argument(f"cannot follow backing index [{follower}], because local data stream [{name}] is "
                               "no longer marked as replicated")


def state_metadata(cluster: "Cluster") -> dict:
    """The data_stream and index_template customs of the cluster state's metadata."""
    out = {}
    if cluster.templates:
        out["index_template"] = {"index_template": {n: t for n, t in sorted(cluster.templates.items())}}
    if cluster.data_streams:
        out["data_stream"] = {"data_stream": {
            n: {"name": n, "timestamp_field": {"name": TIMESTAMP_FIELD},
                "indices": [{"index_name": i, "index_uuid": cluster.indices[i].uuid if i in cluster.indices else "_na_"}
                            for i in ds.indices],
                "generation": ds.generation, "hidden": ds.hidden, "replicated": ds.replicated, "system": False,
                "allow_custom_routing": False, "rollover_on_write": False}
            for n, ds in sorted(cluster.data_streams.items())}, "data_stream_aliases": {}}
    return out

