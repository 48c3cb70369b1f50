"""Client of tests/essim/essim for the project's tests: starts a simulated
cluster through a ProcessGroup, drives its control port (faults) and offers
the few Elasticsearch calls tests need, over urllib with timeouts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from haestest.proc import ProcessGroup, Proc, source_dir, wait_for


def essim_path() -> Path:
    return source_dir() / "tests" / "essim" / "essim"


class EssimError(Exception):
    def __init__(self, status: int, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def http(method: str, url: str, body=None, timeout: float = 10.0, headers: Optional[dict] = None,
         raw: bool = False, context=None):
    """One request; returns (status, parsed JSON or text). Never raises on HTTP errors."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            hdrs.setdefault("Content-Type", "application/x-ndjson")
        else:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            status, payload, ctype = r.status, r.read(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        status, payload, ctype = e.code, e.read(), e.headers.get("content-type", "")
    if raw:
        return status, payload
    text = payload.decode("utf-8", "replace")
    if "json" in ctype and text:
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text
    return status, text


class EssimCluster:
    """A running essim process (one simulated cluster)."""

    def __init__(self, proc: Proc, ports: dict, scheme: str = "http"):
        self.proc = proc
        self.name = ports["cluster"]
        self.ports: dict = ports["nodes"]
        self.control_port: int = ports["control"]
        self.scheme = scheme

    @classmethod
    def start(cls, procs: ProcessGroup, name: str, nodes: int = 2, repo_root: Optional[Path] = None,
              workdir: Optional[Path] = None, **options) -> "EssimCluster":
        """options: tls_cert, tls_key, users (path), flavor, snapshot_bytes_per_sec, master_timeout,
        license."""
        workdir = Path(workdir or procs.workdir / f"essim-{name}")
        workdir.mkdir(parents=True, exist_ok=True)
        repo_root = Path(repo_root or workdir / "repo")
        port_file = workdir / "ports.json"
        argv = ["/usr/bin/python3", essim_path(), "--cluster", name, "--nodes", str(nodes),
                "--repo-root", repo_root, "--port-file", port_file]
        for key, value in options.items():
            argv += ["--" + key.replace("_", "-"), str(value)]
        proc = procs.start(f"essim-{name}", argv)

        def ready():
            if not proc.alive():
                raise AssertionError(f"essim {name} exited: {proc.log()[-2000:]}")
            return port_file.exists() and json.loads(port_file.read_text())
        ports = wait_for(ready, 20, what=f"essim {name} port file")
        return cls(proc, ports, "https" if "tls_cert" in options else "http")

    # ---- addresses ----------------------------------------------------------

    @property
    def node_names(self) -> list:
        return list(self.ports)

    def port(self, node: str) -> int:
        return self.ports[node]

    def url(self, node: Optional[str] = None) -> str:
        node = node or self.node_names[0]
        return f"{self.scheme}://127.0.0.1:{self.ports[node]}"

    def urls(self) -> list:
        return [self.url(n) for n in self.node_names]

    # ---- control port -----------------------------------------------------

    def control(self, path: str, body=None, method: Optional[str] = None):
        """A control-port call: GET without a body, POST with one."""
        status, out = http(method or ("GET" if body is None else "POST"),
                           f"http://127.0.0.1:{self.control_port}{path}", body)
        if status != 200:
            raise EssimError(status, out)
        return out

    def _node(self, node, action: str, body=None):
        node = node if isinstance(node, str) else self.node_names[node]
        return self.control(f"/nodes/{node}/{action}", body or {}, "POST")

    def stop_node(self, node=0):
        return self._node(node, "stop")

    def start_node(self, node=0):
        return self._node(node, "start")

    def hang_node(self, node=0):
        return self._node(node, "hang")

    def slow_node(self, node=0, ms: int = 1000):
        return self._node(node, "slow", {"ms": ms})

    def fail_node(self, node=0, status: int = 503, **kw):
        return self._node(node, "fail", {"status": status, **kw})

    def break_node(self, node=0, mode: str = "drop"):
        return self._node(node, "break", {"mode": mode})

    def clear_node(self, node=0):
        return self._node(node, "clear")

    def set_disk(self, node=0, used_percent: Optional[float] = None, used_bytes: Optional[int] = None,
                 total_bytes: Optional[int] = None):
        """A node's data disk as _nodes/stats reports it (and as the disk
        watermarks see it): used share or bytes, optionally its size."""
        body = {k: v for k, v in (("used_percent", used_percent), ("used_bytes", used_bytes),
                                  ("total_bytes", total_bytes)) if v is not None}
        return self._node(node, "disk", body)

    def set_heap(self, node=0, used_percent: Optional[float] = None, max_bytes: Optional[int] = None):
        body = {k: v for k, v in (("used_percent", used_percent), ("max_bytes", max_bytes)) if v is not None}
        return self._node(node, "heap", body)

    def force_red(self, index: Optional[str] = None):
        return self.control("/cluster/red", {"index": index} if index else {}, "POST")

    def heal(self):
        return self.control("/cluster/heal", {}, "POST")

    def fail_next_restore(self):
        return self.control("/cluster/fail_next_restore", {}, "POST")

    def set_snapshot_speed(self, bytes_per_sec: float):
        return self.control("/snapshot_speed", {"bytes_per_sec": bytes_per_sec}, "POST")

    def set_master_wait(self, seconds: float):
        return self.control("/master_wait", {"seconds": seconds}, "POST")

    def set_ccr_replication(self, delay_ms: Optional[int] = None, stalled: Optional[bool] = None):
        """This cluster as a CCR follower: apply operations delay_ms after
        reading them from the leader, or (stalled) read nothing."""
        body = {k: v for k, v in (("delay_ms", delay_ms), ("stalled", stalled)) if v is not None}
        return self.control("/ccr/replication", body, "POST")

    def set_license(self, license_type: Optional[str] = None, status: Optional[str] = None):
        """The license GET /_license reports (CCR needs platinum, enterprise or trial, active)."""
        body = {k: v for k, v in (("type", license_type), ("status", status)) if v is not None}
        return self.control("/license", body, "POST")

    def seeds(self) -> list:
        """This cluster's nodes as remote-cluster seeds (essim: their HTTP addresses)."""
        return [f"127.0.0.1:{p}" for p in self.ports.values()]

    def add_remote(self, alias: str, leader: "EssimCluster"):
        """Registers leader as remote cluster alias (cluster.remote.<alias>.seeds)."""
        return self.ok("PUT", "/_cluster/settings",
                       {"persistent": {f"cluster.remote.{alias}.seeds": leader.seeds()}})

    def counters(self) -> dict:
        return self.control("/counters", method="GET")

    def state(self) -> dict:
        return self.control("/state", method="GET")

    # ---- Elasticsearch calls --------------------------------------------------

    def es(self, method: str, path: str, body=None, node: Optional[str] = None, **kw):
        return http(method, self.url(node) + path, body, **kw)

    def ok(self, method: str, path: str, body=None, node: Optional[str] = None):
        status, out = self.es(method, path, body, node)
        if status >= 300:
            raise EssimError(status, out)
        return out

    def create_index(self, name: str, shards: int = 1, replicas: int = 1):
        return self.ok("PUT", f"/{name}", {"settings": {"number_of_shards": shards,
                                                        "number_of_replicas": replicas}})

    def bulk_index(self, index: str, docs: dict, refresh: bool = True):
        """docs: id -> source. Returns the bulk answer; raises if any item failed."""
        lines = []
        for doc_id, source in docs.items():
            lines.append(json.dumps({"index": {"_index": index, "_id": str(doc_id)}}))
            lines.append(json.dumps(source))
        out = self.ok("POST", "/_bulk" + ("?refresh=true" if refresh else ""), "\n".join(lines) + "\n")
        if out["errors"]:
            raise EssimError(200, out)
        return out

    def count(self, index: str) -> int:
        return self.ok("GET", f"/{index}/_count")["count"]

    def health(self, **params) -> dict:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.ok("GET", "/_cluster/health" + (f"?{query}" if query else ""))
