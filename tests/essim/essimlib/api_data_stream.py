"""Index template, data stream and rollover endpoints (RestPutComposableIndexTemplateAction,
RestGetComposableIndexTemplateAction, RestDeleteComposableIndexTemplateAction,
RestCreateDataStreamAction, RestGetDataStreamsAction, RestDeleteDataStreamAction,
RestPromoteDataStreamAction, RestRolloverIndexAction), over datastreams.
Registered before api_index, whose /{index} routes would take these paths."""

from __future__ import annotations

import json
import re
import time

from essimlib import datastreams
from essimlib.api_cluster import parse_time, wait_for_master
from essimlib.cluster import Cluster
from essimlib.errors import EsError, illegal_argument
from essimlib.http import Request, Response

ACK = {"acknowledged": True}
SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4, "pb": 1024 ** 5}
CONDITIONS = ("max_age", "max_docs", "max_size", "max_primary_shard_size", "max_primary_shard_docs",
              "min_age", "min_docs", "min_size", "min_primary_shard_size", "min_primary_shard_docs")


def register(router, cluster: Cluster) -> None:
    def template(req: Request, name: str = None, **_):
        if req.method in ("GET", "HEAD"):
            if req.method == "HEAD":
                try:
                    datastreams.get_templates(cluster, name)
                except EsError:
                    return Response(404, None)
                return Response(200, None)
            return Response(200, {"index_templates": datastreams.get_templates(cluster, name)})
        wait_for_master(cluster, req)
        if req.method == "DELETE":
            datastreams.delete_templates(cluster, name)
        else:
            if req.flag("create") and name in cluster.templates:
                raise illegal_argument(f"index template [{name}] already exists")
            datastreams.put_template(cluster, name, req.json({}) or {})
        return Response(200, ACK)

    def data_stream(req: Request, name: str = None, **_):
        if req.method == "GET":
            hidden = any(w in ("all", "hidden") for w in req.query.get("expand_wildcards", "open").split(","))
            with cluster.lock:
                names = datastreams.resolve(cluster, name, include_hidden=hidden)
                return Response(200, {"data_streams": [datastreams.info(cluster, n) for n in names]})
        wait_for_master(cluster, req)
        if req.method == "PUT":
            datastreams.create(cluster, name)
        else:
            datastreams.delete(cluster, name)
        return Response(200, ACK)

    def promote(req: Request, name: str, **_):
        wait_for_master(cluster, req)
        datastreams.promote(cluster, name)
        return Response(200, ACK)

    def rollover(req: Request, index: str, new_index: str = None, **_):
        """POST /<data stream or alias>/_rollover[/<new index>] (TransportRolloverAction)."""
        wait_for_master(cluster, req)
        body = req.json({}) or {}
        dry_run = req.flag("dry_run")
        with cluster.lock:
            ds = cluster.data_streams.get(index)
            if ds is not None:
                if new_index is not None:
                    raise illegal_argument("new index name may not be specified when rolling over a data stream")
                source = cluster.indices[ds.write_index]
            else:
                source = alias_write_index(index)
                new_index = new_index or next_name(source.name)
            met = conditions(body.get("conditions") or {}, source)
            maxes = {k: v for k, v in met.items() if k.startswith("[max_")}
            mins = {k: v for k, v in met.items() if k.startswith("[min_")}
            go = not met or ((not maxes or any(maxes.values())) and all(mins.values()))
            if ds is not None:
                old, new = datastreams.rollover(cluster, ds, dry_run=dry_run or not go)
            else:
                old, new = source.name, new_index
                if go and not dry_run:
                    roll_alias(index, source, new)
        done = go and not dry_run
        return Response(200, {"acknowledged": done, "shards_acknowledged": done, "old_index": old,
                              "new_index": new, "rolled_over": done, "dry_run": dry_run, "lazy": False,
                              "conditions": met})

    def alias_write_index(name: str):
        if name in cluster.indices:
            raise illegal_argument("rollover target is a [concrete index] but one of [alias,data_stream] was "
                                   "expected")
        members = [i for i in cluster.indices.values() if name in i.aliases]
        if not members:
            raise illegal_argument(f"rollover target [{name}] does not exist")
        writers = [i for i in members if i.aliases[name].get("is_write_index")]
        if writers:
            return writers[0]
        if len(members) == 1:
            return members[0]
        raise illegal_argument(f"rollover target [{name}] does not point to a write index")

    def next_name(source: str) -> str:
        """MetadataRolloverService.generateRolloverIndexName."""
        m = re.match(r"^(.*)-(\d+)$", source)
        if not m:
            raise illegal_argument(f"index name [{source}] does not match pattern '^.*-\\d+$'")
        return f"{m.group(1)}-{int(m.group(2)) + 1:06d}"

    def roll_alias(alias: str, source, new: str) -> None:
        explicit = bool(source.aliases[alias].get("is_write_index"))
        idx = cluster.create_index(new, len(source.shards), source.replicas, hidden=source.hidden)
        idx.aliases[alias] = {"is_write_index": explicit}
        if explicit:
            source.aliases[alias] = {"is_write_index": False}
        else:
            del source.aliases[alias]

    def conditions(spec: dict, idx) -> dict:
        """Each condition as ES names it ("[max_docs: 1000]") and whether the index meets it."""
        per_shard: dict = {}
        for d in idx.docs.values():
            per_shard[d["shard"]] = per_shard.get(d["shard"], 0) + 1
        size = sum(len(json.dumps(d["source"])) for d in idx.docs.values())
        shard_docs = max(per_shard.values(), default=0)
        shard_size = size // max(1, len(idx.shards))
        age = time.time() - idx.creation_date / 1000
        out = {}
        for key, value in spec.items():
            if key not in CONDITIONS:
                raise EsError(400, "x_content_parse_exception", f"[1:2] [conditions] unknown field [{key}]")
            kind = key[4:]
            if kind == "age":
                actual, wanted = age, parse_time(str(value), 0.0)
            elif kind in ("size", "primary_shard_size"):
                actual, wanted = (size if kind == "size" else shard_size), parse_bytes(str(value))
            else:
                actual, wanted = (len(idx.docs) if kind == "docs" else shard_docs), int(value)
            out[f"[{key}: {str(value).lower()}]"] = actual >= wanted
        return out

    def parse_bytes(value: str) -> int:
        m = re.match(r"^(\d+)\s*([a-z]*)$", value.lower())
        if not m or (m.group(2) or "b") not in SIZE_UNITS:
            raise EsError(400, "parse_exception", f"failed to parse [{value}] as a byte size value")
        return int(m.group(1)) * SIZE_UNITS[m.group(2) or "b"]

    router.add("GET", "/_index_template", template, "indices.get_index_template")
    router.add("GET|HEAD|PUT|POST|DELETE", "/_index_template/{name}", template, "indices.index_template")
    router.add("GET", "/_data_stream", data_stream, "indices.get_data_stream")
    router.add("POST", "/_data_stream/_promote/{name}", promote, "indices.promote_data_stream")
    router.add("GET|PUT|DELETE", "/_data_stream/{name}", data_stream, "indices.data_stream")
    router.add("POST", "/{index}/_rollover", rollover, "indices.rollover")
    router.add("POST", "/{index}/_rollover/{new_index}", rollover, "indices.rollover")
