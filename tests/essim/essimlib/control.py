"""The control API (JSON over HTTP on the control port; no auth): fault
injection and introspection. Documented in tests/essim/README.md."""

from __future__ import annotations

import json
import math

from essimlib import ccr_remote
from essimlib.errors import EsError
from essimlib.http import Request, Response
from essimlib.router import Router

BREAK_MODES = ("non_json", "truncated", "drop")


def handler(essim):
    router = Router()
    cluster = essim.cluster

    def node_name(name: str) -> str:
        if name not in essim.faults:
            raise EsError(404, "no_such_node", f"no node [{name}]; nodes: {', '.join(essim.faults)}")
        return name

    def state(req, **_):
        m = cluster.master()
        return Response(200, {
            "cluster": cluster.name, "master": m.name if m else None,
            "nodes": {n.name: {"port": essim.servers[n.name].port, "up": n.up,
                               "fault": essim.faults[n.name], **vitals(n)} for n in cluster.nodes},
            "health": cluster.health()["status"],
            "indices": {n: {"docs": len(i.docs), "state": i.state, "health": cluster.index_health(i),
                            "blocks": sorted(b for b, on in i.blocks.items() if on)}
                        for n, i in cluster.indices.items()},
            "snapshot_bytes_per_sec": essim.snapshots.bytes_per_sec,
            "license": {"type": essim.ccr.license["type"], "status": essim.ccr.license["status"]},
            "ccr": {"delay_ms": essim.ccr.delay_ms, "stalled": essim.ccr.stall,
                    "followers": {n: {k: v for k, v in i.follow.items() if k != "parameters"}
                                  for n, i in cluster.indices.items() if i.follow is not None}},
            "running_snapshots": [r.name for r in essim.snapshots.running]})

    def node_action(req, node: str, action: str, **_):
        node = node_name(node)
        body = req.json({}) or {}
        if action == "stop":
            essim.stop_node(node)
        elif action == "start":
            essim.faults[node] = None
            essim.start_node(node, essim.servers[node].port)
        elif action == "hang":
            essim.servers[node].released.clear()  # a clear before must not release this hang
            essim.faults[node] = {"mode": "hang"}
        elif action == "slow":
            essim.faults[node] = {"mode": "slow", "ms": int(body.get("ms", 1000))}
        elif action == "fail":
            status = int(body.get("status", 503))
            default_type = "cluster_block_exception" if status == 503 else "exception"
            default_reason = ("blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"
                              if status == 503 else "essim injected failure")
            fault = {"mode": "fail", "status": status,
                     "type": body.get("type", default_type),
                     "reason": body.get("reason", default_reason)}
            if "path" in body:
                fault["path"] = str(body["path"])
            if "count" in body:
                if not isinstance(body["count"], int) or body["count"] < 1:
                    raise EsError(400, "bad_count", f"count [{body['count']}] must be a positive integer")
                fault["count"] = body["count"]
            essim.faults[node] = fault
        elif action == "break":
            how = body.get("mode", "drop")
            if how not in BREAK_MODES:
                raise EsError(400, "bad_mode", f"break mode [{how}] is not one of {list(BREAK_MODES)}")
            essim.faults[node] = {"mode": "break", "how": how}
        elif action == "disk":
            set_disk(cluster.node(node), body)
        elif action == "heap":
            set_heap(cluster.node(node), body)
        elif action == "clear":
            essim.faults[node] = None
            essim.servers[node].released.set()
        else:
            raise EsError(404, "no_such_action", f"unknown action [{action}]")
        return Response(200, {"node": node, "action": action, "fault": essim.faults[node],
                              "up": cluster.node(node).up, **vitals(cluster.node(node))})

    def set_disk(n, body: dict) -> None:
        """{"used_percent": P} or {"used_bytes": B}, optionally {"total_bytes": T}."""
        total = body.get("total_bytes", n.disk_total)
        if not isinstance(total, int) or total < 1:
            raise EsError(400, "bad_disk", f"total_bytes [{total}] must be a positive integer")
        if "used_percent" in body:
            pct = body["used_percent"]
            if not isinstance(pct, (int, float)) or not 0 <= pct <= 100:
                raise EsError(400, "bad_disk", f"used_percent [{pct}] must be a number from 0 to 100")
            used = int(round(total * pct / 100.0))
        elif "used_bytes" in body:
            used = body["used_bytes"]
            if not isinstance(used, int) or not 0 <= used <= total:
                raise EsError(400, "bad_disk", f"used_bytes [{used}] must be an integer from 0 to total_bytes ({total})")
        elif "total_bytes" in body:
            used = min(total, n.disk_total - n.disk_available)
        else:
            raise EsError(400, "bad_disk", "give used_percent, used_bytes or total_bytes")
        with cluster.lock:
            n.disk_total, n.disk_available = total, total - used
            cluster.apply_disk_watermarks()

    def set_heap(n, body: dict) -> None:
        """{"used_percent": P}, optionally {"max_bytes": M}."""
        heap_max = body.get("max_bytes", n.heap_max)
        if not isinstance(heap_max, int) or heap_max < 1:
            raise EsError(400, "bad_heap", f"max_bytes [{heap_max}] must be a positive integer")
        pct = body.get("used_percent", n.heap_used * 100.0 / n.heap_max)
        if not isinstance(pct, (int, float)) or not 0 <= pct <= 100:
            raise EsError(400, "bad_heap", f"used_percent [{pct}] must be a number from 0 to 100")
        n.heap_max, n.heap_used = heap_max, math.ceil(heap_max * pct / 100.0)

    def vitals(n) -> dict:
        return {"disk": {"total_bytes": n.disk_total, "available_bytes": n.disk_available,
                         "used_percent": round(n.disk_used_percent, 2)},
                "heap": {"max_bytes": n.heap_max, "used_bytes": n.heap_used,
                         "used_percent": n.heap_used_percent}}

    def red(req, **_):
        body = req.json({}) or {}
        with cluster.lock:
            name = body.get("index")
            if name is None:
                visible = [n for n, i in cluster.indices.items() if not i.hidden]
                name = visible[0] if visible else None
            if name is None:
                name = ".essim-red"
                if name not in cluster.indices:
                    cluster.create_index(name, 1, 0, hidden=True)
            idx = cluster.get_index(name)
            idx.shards[0].lost = True
        return Response(200, {"red": True, "index": name, "shard": 0, "health": cluster.health()["status"]})

    def heal(req, **_):
        with cluster.lock:
            for idx in cluster.indices.values():
                for sh in idx.shards:
                    sh.lost = False
                    sh.failed = False
        return Response(200, {"healed": True, "health": cluster.health()["status"]})

    def fail_next_restore(req, **_):
        cluster.fail_next_restore = True
        return Response(200, {"fail_next_restore": True})

    def speed(req, **_):
        body = req.json({}) or {}
        essim.snapshots.bytes_per_sec = float(body["bytes_per_sec"])
        return Response(200, {"snapshot_bytes_per_sec": essim.snapshots.bytes_per_sec})

    def master_wait(req, **_):
        cluster.master_wait = float((req.json({}) or {})["seconds"])
        return Response(200, {"master_wait": cluster.master_wait})

    def counters(req, **_):
        with essim.counters_lock:
            nodes = {n: dict(c) for n, c in essim.counters.items()}
        total: dict = {}
        for c in nodes.values():
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        return Response(200, {"nodes": nodes, "total": total})

    def reset(req, **_):
        with essim.counters_lock:
            essim.counters.clear()
        return Response(200, {"reset": True})

    def ccr_replication(req, **_):
        """The follower side's lag: {"delay_ms": N} between reading operations
        from the leader and applying them, {"stalled": true} no reads at all."""
        body = req.json({}) or {}
        if "delay_ms" in body:
            if not isinstance(body["delay_ms"], int) or body["delay_ms"] < 0:
                raise EsError(400, "bad_delay", f"delay_ms [{body['delay_ms']}] must be a non-negative integer")
            essim.ccr.delay_ms = body["delay_ms"]
        if "stalled" in body:
            if not isinstance(body["stalled"], bool):
                raise EsError(400, "bad_stalled", f"stalled [{body['stalled']}] must be true or false")
            essim.ccr.stall = body["stalled"]
        return Response(200, {"delay_ms": essim.ccr.delay_ms, "stalled": essim.ccr.stall})

    def license_(req, **_):
        body = req.json({}) or {}
        lic = essim.ccr.license
        if "type" in body:
            if body["type"] not in ccr_remote.LICENSE_TYPES:
                raise EsError(400, "bad_license", f"license type [{body['type']}] is not one of {list(ccr_remote.LICENSE_TYPES)}")
            lic["type"] = body["type"]
        if "status" in body:
            if body["status"] not in ("active", "expired"):
                raise EsError(400, "bad_license", f"license status [{body['status']}] is not active or expired")
            lic["status"] = body["status"]
        return Response(200, {"type": lic["type"], "status": lic["status"]})

    router.add("POST", "/ccr/replication", ccr_replication)
    router.add("POST", "/license", license_)
    router.add("GET", "/state", state)
    router.add("POST", "/nodes/{node}/{action}", node_action)
    router.add("POST", "/cluster/red", red)
    router.add("POST", "/cluster/heal", heal)
    router.add("POST", "/cluster/fail_next_restore", fail_next_restore)
    router.add("POST", "/snapshot_speed", speed)
    router.add("POST", "/master_wait", master_wait)
    router.add("GET", "/counters", counters)
    router.add("POST", "/counters/reset", reset)

    def handle(req: Request) -> Response:
        try:
            h, params, _ = router.match(req)
            if h is None:
                return Response(404, {"error": f"no control endpoint {req.method} {req.path}"})
            return h(req, **params)
        except EsError as e:
            return Response(e.status, e.body())
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as e:
            return Response(400, {"error": f"bad control request: {e}"})
    return handle
