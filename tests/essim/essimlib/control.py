"""The control API (JSON over HTTP on the control port; no auth): fault
injection and introspection. Documented in tests/essim/README.md."""

from __future__ import annotations

import json

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
                               "fault": essim.faults[n.name]} for n in cluster.nodes},
            "health": cluster.health()["status"],
            "indices": {n: {"docs": len(i.docs), "state": i.state, "health": cluster.index_health(i)}
                        for n, i in cluster.indices.items()},
            "snapshot_bytes_per_sec": essim.snapshots.bytes_per_sec,
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
        elif action == "clear":
            essim.faults[node] = None
            essim.servers[node].released.set()
        else:
            raise EsError(404, "no_such_action", f"unknown action [{action}]")
        return Response(200, {"node": node, "action": action, "fault": essim.faults[node],
                              "up": cluster.node(node).up})

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
