"""Index and document endpoints: create/delete/get index, _doc, _bulk, _count,
_search, _refresh, _close, _open, _settings, _block, _aliases."""

from __future__ import annotations

import fnmatch
import json
import time

from essimlib import datastreams
from essimlib.api_cluster import wait_for_master
from essimlib.cluster import Cluster
from essimlib.errors import (BLOCK_READ_ONLY, BLOCK_READ_ONLY_ALLOW_DELETE, EsError, illegal_argument,
                             index_not_found, parse_error, write_blocked)
from essimlib.http import Request, Response


def truthy(v) -> bool:
    return v is True or (isinstance(v, str) and v.lower() == "true")


def register(router, cluster: Cluster) -> None:
    def destructive_check(expression: str) -> None:
        # action.destructive_requires_name defaults to true in 8.x
        if any(p in ("_all", "*") or "*" in p for p in expression.split(",")):
            raise illegal_argument("Wildcard expressions or all indices are not allowed")

    def create_index(req: Request, index: str, **_):
        wait_for_master(cluster, req)
        body = req.json({}) or {}
        settings = body.get("settings", {})
        flat = settings.get("index", settings)
        shards = int(flat.get("number_of_shards", flat.get("index.number_of_shards", 1)))
        replicas = int(flat.get("number_of_replicas", flat.get("index.number_of_replicas", 1)))
        aliases = {a: {"is_write_index": bool((spec or {}).get("is_write_index", False))}
                   for a, spec in (body.get("aliases") or {}).items()}
        cluster.create_index(index, shards, replicas, hidden=truthy(flat.get("hidden", False)),
                             aliases=aliases)
        return Response(200, {"acknowledged": True, "shards_acknowledged": True, "index": index})

    def delete_index(req: Request, index: str, **_):
        destructive_check(index)
        with cluster.lock:
            names = cluster.resolve(index, data_streams=False)
            for n in names:
                ds = datastreams.of_index(cluster, n)
                if ds is not None and ds.write_index == n:
                    # MetadataDeleteIndexService
                    raise illegal_argument(f"index [{n}] is the write index for data stream [{ds.name}] and "
                                           "cannot be deleted")
            for n in names:
                if cluster.indices[n].snapshotting:
                    raise EsError(400, "snapshot_in_progress_exception",
                                  f"Cannot delete indices that are being snapshotted: [[{n}/{cluster.indices[n].uuid}]]. "
                                  "Try again after snapshot finishes or cancel the currently running snapshot.")
            for n in names:
                del cluster.indices[n]
                ds = datastreams.of_index(cluster, n)
                if ds is not None:  # a backing index that is not the write index leaves its data stream
                    ds.indices.remove(n)
        return Response(200, {"acknowledged": True})

    def get_index(req: Request, index: str, **_):
        with cluster.lock:
            names = cluster.resolve(index)
            body = {n: {"aliases": cluster.indices[n].aliases and
                        {a: ({"is_write_index": True} if s.get("is_write_index") else {})
                         for a, s in cluster.indices[n].aliases.items()} or {},
                        "mappings": {}, "settings": cluster.indices[n].settings()} for n in names}
            for n in names:
                ds = datastreams.of_index(cluster, n)
                if ds is not None:
                    body[n]["data_stream"] = ds.name
        if req.method == "HEAD":
            return Response(200, None)
        return Response(200, body)

    def doc_write(req: Request, index: str, id: str = None, **_):
        body = req.json()
        if not isinstance(body, dict):
            raise parse_error("request body is required")
        # RestIndexAction: _create, op_type=create, and (AutoIdHandler) a POST without an id are creates
        op_type = ("create" if req.path.split("/")[2] == "_create" or req.query.get("op_type") == "create"
                   or (id is None and req.query.get("op_type") is None) else "index")
        result = cluster.write_doc(index, id, body, op_type)
        if req.query.get("refresh") in ("true", "wait_for", ""):
            refresh_names([result["_index"]])
        return Response(201 if result["result"] == "created" else 200, result)

    def doc_get(req: Request, index: str, id: str, **_):
        with cluster.lock:
            idx = cluster.get_index(index)
            if idx.state != "open":
                raise EsError(400, "index_closed_exception", "closed", {"index_uuid": idx.uuid, "index": index})
            d = idx.docs.get(id)
            if d is None:
                return Response(404, {"_index": index, "_id": id, "found": False})
            return Response(200, {"_index": index, "_id": id, "_version": d["version"],
                                  "_seq_no": d["seq_no"], "_primary_term": 1, "found": True,
                                  "_source": d["source"]})

    def doc_delete(req: Request, index: str, id: str, **_):
        result = cluster.delete_doc(index, id)
        return Response(200 if result["result"] == "deleted" else 404, result)

    def bulk(req: Request, index: str = None, **_):
        started = time.monotonic()
        lines = req.body.decode("utf-8", "replace").split("\n")
        if req.body and not req.body.endswith(b"\n"):
            raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
        items, errors, i = [], False, 0
        touched = set()
        while i < len(lines):
            line = lines[i].strip()
            i += 1
            if not line:
                continue
            try:
                action = json.loads(line)
            except ValueError:
                raise EsError(400, "x_content_parse_exception", f"[1:1] Unexpected character in bulk line {i}") from None
            if not isinstance(action, dict) or len(action) != 1:
                raise illegal_argument(f"Malformed action/metadata line [{i}], expected a simple value for field [{line[:20]}] but found [START_OBJECT]")
            op, meta = next(iter(action.items()))
            if op not in ("index", "create", "delete", "update"):
                raise illegal_argument(f"Malformed action/metadata line [{i}], expected one of [create, delete, index, update] but found [{op}]")
            target = (meta or {}).get("_index", index)
            doc_id = (meta or {}).get("_id")
            source = None
            if op != "delete":
                if i >= len(lines):
                    raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
                source = json.loads(lines[i])
                i += 1
            try:
                if target is None:
                    raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
                if op == "delete":
                    result = cluster.delete_doc(target, doc_id)
                    status = 200 if result["result"] == "deleted" else 404
                elif op == "update":
                    with cluster.lock:
                        if target in cluster.data_streams:
                            raise illegal_argument("only write ops with an op_type of create are allowed in "
                                                   "data streams")
                        idx = cluster.get_index(target)
                        old = idx.docs.get(doc_id)
                        if old is None:
                            raise EsError(404, "document_missing_exception", f"[{doc_id}]: document missing",
                                          {"index_uuid": idx.uuid, "shard": "0", "index": target})
                        merged = dict(old["source"])
                        merged.update((source or {}).get("doc", {}))
                        result = cluster.write_doc(target, doc_id, merged)
                    status = 200
                else:
                    result = cluster.write_doc(target, doc_id, source, op)
                    status = 201 if result["result"] == "created" else 200
                result["status"] = status
                touched.add(result["_index"])
                items.append({op: result})
            except EsError as e:
                errors = True
                err = {"type": e.etype, "reason": e.reason, **e.extra}
                if e.caused_by:
                    err["caused_by"] = e.caused_by
                items.append({op: {"_index": target, "_id": doc_id, "status": e.status, "error": err}})
        if req.query.get("refresh") in ("true", "wait_for", ""):
            refresh_names([t for t in touched if t in cluster.indices])
        return Response(200, {"errors": errors, "took": int((time.monotonic() - started) * 1000),
                              "items": items})

    def query_docs(req: Request, index: str):
        body = req.json({}) or {}  # ES parses the body before it resolves the indices
        names = cluster.resolve(index or "_all", allow_missing=req.flag("ignore_unavailable"),
                                include_hidden=index is not None and index.startswith("."))
        docs, shards = cluster.searchable(names)
        query = body.get("query") or {"match_all": {}}
        if "ids" in query:
            wanted = set((query["ids"] or {}).get("values", []))
            docs = [d for d in docs if d[1] in wanted]
        elif "term" in query and "_id" in query["term"]:
            t = query["term"]["_id"]
            wanted = t.get("value") if isinstance(t, dict) else t
            docs = [d for d in docs if d[1] == wanted]
        elif "match_all" not in query:
            raise EsError(400, "parsing_exception", f"unknown query [{next(iter(query))}] (essim supports match_all, ids)",
                          {"line": 1, "col": 1})
        docs.sort(key=lambda d: (d[0], d[2]["seq_no"]))
        return docs, shards, body

    def count(req: Request, index: str = None, **_):
        docs, shards, _body = query_docs(req, index)
        return Response(200, {"count": len(docs), "_shards": shards})

    def search(req: Request, index: str = None, **_):
        started = time.monotonic()
        docs, shards, body = query_docs(req, index)
        size = int(req.query.get("size", body.get("size", 10)))
        start = int(req.query.get("from", body.get("from", 0)))
        hits = [{"_index": n, "_id": i, "_score": 1.0, "_source": d["source"]}
                for n, i, d in docs[start:start + size]]
        return Response(200, {"took": int((time.monotonic() - started) * 1000), "timed_out": False,
                              "_shards": shards,
                              "hits": {"total": {"value": len(docs), "relation": "eq"},
                                       "max_score": 1.0 if hits else None, "hits": hits}})

    def refresh_names(names):
        with cluster.lock:
            for n in names:
                for sh in cluster.indices[n].shards:
                    sh.seal()

    def refresh(req: Request, index: str = None, **_):
        names = cluster.resolve(index or "_all")
        refresh_names(names)
        total = sum((1 + cluster.indices[n].replicas) * len(cluster.indices[n].shards) for n in names)
        ok = sum((1 + cluster.active_replicas(cluster.indices[n])) * len(cluster.indices[n].shards) for n in names)
        return Response(200, {"_shards": {"total": total, "successful": ok, "failed": 0}})

    def close(req: Request, index: str, **_):
        destructive_check(index)
        with cluster.lock:
            names = cluster.resolve(index, allow_missing=req.flag("ignore_unavailable"))
            writers = datastreams.write_indices(cluster, names)
            if writers:  # MetadataIndexStateService.closeIndices
                raise illegal_argument(f"cannot close the following data stream write indices [{','.join(writers)}]")
            for n in names:
                idx = cluster.indices[n]
                if idx.snapshotting:
                    raise EsError(400, "snapshot_in_progress_exception",
                                  f"Cannot close indices that are being snapshotted: [[{n}/{idx.uuid}]]. "
                                  "Try again after snapshot finishes or cancel the currently running snapshot.")
                if any(sh.recovering_until and time.monotonic() < sh.recovering_until for sh in idx.shards):
                    raise illegal_argument(f"Cannot close indices that are being restored: [[{n}/{idx.uuid}]]")
            for n in names:
                for sh in cluster.indices[n].shards:
                    sh.seal()
                cluster.indices[n].state = "close"
        return Response(200, {"acknowledged": True, "shards_acknowledged": True,
                              "indices": {n: {"closed": True} for n in names}})

    def open_(req: Request, index: str, **_):
        destructive_check(index)
        with cluster.lock:
            names = [n for n in cluster.resolve(index) if cluster.indices[n].state != "open"]
            cluster.check_shard_limit(sum(len(cluster.indices[n].shards) * (1 + cluster.indices[n].replicas)
                                          for n in names))
            for n in names:
                cluster.indices[n].state = "open"
            cluster.apply_disk_watermarks()
        return Response(200, {"acknowledged": True, "shards_acknowledged": True})

    def settings(req: Request, index: str = None, **_):
        with cluster.lock:
            names = cluster.resolve(index or "_all")
            if req.method == "GET":
                return Response(200, {n: {"settings": cluster.indices[n].settings()} for n in names})
            body = req.json({}) or {}
            flat = flatten(body.get("settings", body))
            keys = {k if k.startswith("index.") else "index." + k for k in flat}
            for n in names:
                # read_only and read_only_allow_delete block metadata writes too,
                # except the settings update that changes blocks (as in ES).
                idx = cluster.indices[n]
                meta_blocks = [d for b, d in (("read_only", BLOCK_READ_ONLY),
                                              ("read_only_allow_delete", BLOCK_READ_ONLY_ALLOW_DELETE))
                               if idx.blocks.get(b)]
                if meta_blocks and not all(k.startswith("index.blocks.") for k in keys):
                    raise write_blocked(n, ", ".join(meta_blocks))
            replicas = flat.get("index.number_of_replicas", flat.get("number_of_replicas"))
            if replicas is not None:
                cluster.check_shard_limit(sum(len(cluster.indices[n].shards) * (int(replicas) - cluster.indices[n].replicas)
                                              for n in names if cluster.indices[n].state == "open"))
            for n in names:
                idx = cluster.indices[n]
                for key, value in flat.items():
                    key = key if key.startswith("index.") else "index." + key
                    if key in ("index.blocks.write", "index.blocks.read_only",
                               "index.blocks.read_only_allow_delete"):
                        block = key.split(".")[-1]
                        if value is None or not truthy(value):
                            idx.blocks.pop(block, None)
                        else:
                            idx.blocks[block] = True
                    elif key == "index.number_of_replicas":
                        idx.replicas = int(value)
                    elif key == "index.number_of_shards":
                        raise illegal_argument(f"final {n} setting [index.number_of_shards], not updateable")
                    elif key not in ("index.refresh_interval",):
                        raise illegal_argument(f"unknown setting [{key}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings")
            cluster.apply_disk_watermarks()
        return Response(200, {"acknowledged": True})

    def add_block(req: Request, index: str, block: str, **_):
        if block not in ("write", "read_only"):
            raise illegal_argument(f"unknown block [{block}]")
        with cluster.lock:
            names = cluster.resolve(index)
            writers = datastreams.write_indices(cluster, names)
            if writers:  # MetadataIndexStateService.addIndexBlock
                raise illegal_argument(f"cannot add a block to the following data stream write indices "
                                       f"[{','.join(writers)}]")
            for n in names:
                cluster.indices[n].blocks[block] = True
        return Response(200, {"acknowledged": True, "shards_acknowledged": True,
                              "indices": [{"name": n, "blocked": True} for n in names]})

    def aliases(req: Request, **_):
        if req.method == "GET":
            with cluster.lock:
                return Response(200, {n: {"aliases": {a: {} for a in i.aliases}}
                                      for n, i in cluster.indices.items() if not i.hidden})
        body = req.json({}) or {}
        with cluster.lock:
            actions = body.get("actions") or []
            # Validate everything first: aliases are applied atomically.
            for act in actions:
                (kind, spec), = act.items()
                for n in [spec.get("index")] + spec.get("indices", []):
                    if n and kind != "remove_index" and not cluster.resolve(n, allow_missing=True):
                        raise index_not_found(n)
            for act in actions:
                (kind, spec), = act.items()
                names = cluster.resolve(",".join(filter(None, [spec.get("index")] + spec.get("indices", []))))
                alias_names = [spec["alias"]] if "alias" in spec else spec.get("aliases", [])
                for n in names:
                    for a in alias_names:
                        if kind == "add":
                            cluster.indices[n].aliases[a] = {"is_write_index": bool(spec.get("is_write_index"))}
                        elif kind == "remove":
                            if a not in cluster.indices[n].aliases:
                                raise EsError(404, "aliases_not_found_exception", f"aliases [{a}] missing",
                                              {"resource.type": "aliases", "resource.id": a})
                            del cluster.indices[n].aliases[a]
                    if kind == "remove_index":
                        del cluster.indices[n]
        return Response(200, {"acknowledged": True})

    def get_alias(req: Request, index: str = None, name: str = None, **_):
        """GET/HEAD [/<index>]/_alias[/<name>] (RestGetAliasesAction): 404 with
        "alias [x] missing" when a named alias exists nowhere; HEAD: status only."""
        with cluster.lock:
            names = cluster.resolve(index or "_all", include_hidden=index is not None)
            wanted = name.split(",") if name and name not in ("_all", "*") else None
            out, found = {}, set()
            for n in names:
                idx = cluster.indices[n]
                hits = {a: ({"is_write_index": True} if spec.get("is_write_index") else {})
                        for a, spec in sorted(idx.aliases.items())
                        if wanted is None or any(fnmatch.fnmatchcase(a, w) for w in wanted)}
                found.update(w for w in (wanted or []) for a in hits if fnmatch.fnmatchcase(a, w))
                if hits or (index is not None and wanted is None):
                    out[n] = {"aliases": hits}
            missing = [w for w in (wanted or []) if "*" not in w and w not in found]
        status = 404 if missing else 200
        if req.method == "HEAD":
            return Response(status, None)
        if missing:
            reason = (f"alias [{missing[0]}] missing" if len(missing) == 1
                      else f"aliases [{','.join(missing)}] missing")
            return Response(404, {"error": reason, "status": 404, **out})
        return Response(200, out)

    router.add("GET|HEAD", "/_alias", get_alias, "indices.get_alias")
    router.add("GET|HEAD", "/_alias/{name}", get_alias, "indices.get_alias")
    router.add("GET|HEAD", "/{index}/_alias", get_alias, "indices.get_alias")
    router.add("GET|HEAD", "/{index}/_alias/{name}", get_alias, "indices.get_alias")
    router.add("GET|POST", "/_count", count, "count")
    router.add("GET|POST", "/_search", search, "search")
    router.add("POST|PUT", "/_bulk", bulk, "bulk")
    router.add("POST", "/_refresh", refresh, "indices.refresh")
    router.add("GET|POST", "/_aliases", aliases, "indices.aliases")
    router.add("GET", "/_settings", settings, "indices.get_settings")
    router.add("PUT", "/{index}", create_index, "indices.create")
    router.add("DELETE", "/{index}", delete_index, "indices.delete")
    router.add("GET|HEAD", "/{index}", get_index, "indices.get")
    router.add("PUT|POST", "/{index}/_doc/{id}", doc_write, "index")
    router.add("PUT|POST", "/{index}/_create/{id}", doc_write, "create")
    router.add("POST", "/{index}/_doc", doc_write, "index")
    router.add("GET|HEAD", "/{index}/_doc/{id}", doc_get, "get")
    router.add("DELETE", "/{index}/_doc/{id}", doc_delete, "delete")
    router.add("POST|PUT", "/{index}/_bulk", bulk, "bulk")
    router.add("GET|POST", "/{index}/_count", count, "count")
    router.add("GET|POST", "/{index}/_search", search, "search")
    router.add("POST|GET", "/{index}/_refresh", refresh, "indices.refresh")
    router.add("POST", "/{index}/_close", close, "indices.close")
    router.add("POST", "/{index}/_open", open_, "indices.open")
    router.add("GET|PUT", "/{index}/_settings", settings, "indices.settings")
    router.add("PUT", "/{index}/_block/{block}", add_block, "indices.add_block")


def flatten(obj, prefix: str = "") -> dict:
    out = {}
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out
