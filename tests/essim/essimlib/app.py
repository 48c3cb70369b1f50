"""One essim process: the cluster, one HTTP server per node, the control
server, and the start-up contract (port file, SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import sys
import threading
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Optional

from essimlib import (api_ccr, api_cluster, api_data_stream, api_index, api_repository, api_snapshot, api_state, ccr,
                      ccr_remote, control)
from essimlib.auth import Auth
from essimlib.cluster import Cluster
from essimlib.errors import EsError
from essimlib.http import NodeServer, Request, Response
from essimlib.router import Router, no_handler


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class Essim:
    def __init__(self, name: str, nodes: int, repo_root: Path, flavor: str = "es8",
                 users: Optional[Path] = None, tls: Optional[ssl.SSLContext] = None,
                 bytes_per_sec: float = 1_000_000.0, license_type: str = "platinum"):
        self.cluster = Cluster(name, nodes, flavor)
        self.snapshots = api_snapshot.SnapshotService(self.cluster, repo_root, bytes_per_sec)
        self.ccr = ccr.CcrService(self.cluster, license_type)
        self.auth = Auth(users, flavor)
        self.tls = tls
        self.faults: dict = {n.name: None for n in self.cluster.nodes}
        self.counters: dict = defaultdict(lambda: defaultdict(int))
        self.counters_lock = threading.Lock()
        self.router = Router()
        api_cluster.register(self.router, self.cluster)
        api_repository.register(self.router, self.cluster, self.snapshots)  # before api_snapshot's /{snap}
        api_snapshot.register(self.router, self.cluster, self.snapshots)
        api_state.register(self.router, self.cluster)
        api_ccr.register(self.router, self.cluster, self.ccr)  # before api_index's /{index} routes
        api_data_stream.register(self.router, self.cluster)    # likewise
        api_index.register(self.router, self.cluster)
        self.servers: dict = {}
        self.control_server: Optional[NodeServer] = None

    # ---- per node ---------------------------------------------------------

    def take_failure(self, node: str, fault: dict, req: Request) -> bool:
        """Whether a `fail` fault answers this request: only paths under its
        `path` prefix, and at most `count` times (then the fault clears)."""
        if not req.path.startswith(fault.get("path", "")):
            return False
        if fault.get("count") is None:
            return True
        with self.counters_lock:
            if fault["count"] <= 0:
                return False
            fault["count"] -= 1
            if fault["count"] == 0 and self.faults.get(node) is fault:
                self.faults[node] = None
            return True

    def handler_for(self, node):
        def handle(req: Request) -> Response:
            req.node = node
            name = "unknown"
            fault = self.faults.get(node.name)
            try:
                if fault is not None and fault.get("mode") == "fail" and self.take_failure(node.name, fault, req):
                    raise EsError(fault["status"], fault["type"], fault["reason"])
                self.auth.check(req.headers, req.path)
                handler, params, name = self.router.match(req)
                if handler is None:
                    resp = no_handler(req)
                else:
                    resp = handler(req, **params)
            except EsError as e:
                resp = Response(e.status, e.body(), headers=e.headers)
            except Exception as e:  # a bug in essim: never a traceback to the client
                traceback.print_exc()
                err = EsError(500, "exception", f"essim internal error: {e}")
                resp = Response(500, err.body())
            with self.counters_lock:
                self.counters[node.name][f"{req.method} {name}"] += 1
            if resp.status >= 400:
                reason = resp.body.get("error") if isinstance(resp.body, dict) else None
                if isinstance(reason, dict):
                    reason = reason.get("type")
                log(f"essim {node.name}: {resp.status} {req.method} {req.target} {reason}")
            if self.cluster.flavor != "opensearch2":
                resp.headers.setdefault("X-elastic-product", "Elasticsearch")
            return resp
        return handle

    def start_node(self, name: str, port: int = 0) -> int:
        node = self.cluster.node(name)
        server = self.servers.get(name)
        if server is None:
            server = NodeServer(port, self.handler_for(node), lambda n=name: self.faults[n], self.tls, log)
            self.servers[name] = server
        if not server.running():
            server.start()
        self.cluster.set_node_up(name, True)
        return server.port

    def stop_node(self, name: str) -> None:
        self.cluster.set_node_up(name, False)
        self.servers[name].stop()

    def start(self) -> dict:
        ports = {n.name: self.start_node(n.name) for n in self.cluster.nodes}
        self.control_server = NodeServer(0, control.handler(self), lambda: None, None, log)
        ports_control = self.control_server.start()
        return {"cluster": self.cluster.name, "nodes": ports, "control": ports_control}

    def stop(self) -> None:
        self.ccr.stop()
        for s in self.servers.values():
            s.stop()
        if self.control_server:
            self.control_server.stop()


def tls_context(cert: Optional[str], key: Optional[str]) -> Optional[ssl.SSLContext]:
    if not cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="essim", description="Elasticsearch 8 simulator for haes's tests")
    p.add_argument("--cluster", required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--repo-root", required=True, help="path.repo: snapshot repositories live under it")
    p.add_argument("--port-file", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--users", help='JSON {"users": {name: password}, "api_keys": {id: key}}')
    p.add_argument("--flavor", choices=["es8", "es7", "opensearch2"], default="es8")
    p.add_argument("--snapshot-bytes-per-sec", type=float, default=1_000_000.0)
    p.add_argument("--license", choices=list(ccr_remote.LICENSE_TYPES), default="platinum",
                   help="license type GET /_license reports; CCR needs platinum, enterprise or trial")
    p.add_argument("--master-timeout", type=float, default=30.0,
                   help="seconds a node without a master waits before 503 (ES: master_timeout)")
    args = p.parse_args(argv)
    if args.nodes < 1:
        p.error("--nodes must be at least 1")
    repo_root = Path(args.repo_root)
    repo_root.mkdir(parents=True, exist_ok=True)
    essim = Essim(args.cluster, args.nodes, repo_root, args.flavor,
                  Path(args.users) if args.users else None,
                  tls_context(args.tls_cert, args.tls_key), args.snapshot_bytes_per_sec, args.license)
    essim.cluster.master_wait = args.master_timeout
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ports = essim.start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.replace(tmp, args.port_file)
    log(f"essim {args.cluster}: ready {json.dumps(ports)}")
    stop.wait()
    essim.stop()
    log(f"essim {args.cluster}: stopped")
    return 0
