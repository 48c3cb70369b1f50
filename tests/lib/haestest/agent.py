"""Runs haes-agent (and haesctl) from the build tree for integration tests.

AgentRun.write_config() writes a YAML config with run-time loopback ports and
a state directory under the test's workdir; start() launches the agent
through a ProcessGroup and waits until its SPOP and health ports accept.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from haestest.proc import ProcessGroup, Proc, build_dir, free_port, port_open, wait_for


def agent_binary() -> Path:
    return build_dir() / "agent" / "daemon" / "haes-agent"


def haesctl_binary() -> Path:
    return build_dir() / "agent" / "haesctl" / "haesctl"


def yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # JSON strings are valid YAML scalars


def to_yaml(obj, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(obj, dict):
        out = []
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                out.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
            else:
                out.append(f"{pad}{k}: {yaml_scalar(v)}")
        return "\n".join(out)
    if isinstance(obj, list):
        out = []
        for item in obj:
            if isinstance(item, dict):
                body = to_yaml(item, indent + 1).lstrip()
                out.append(f"{pad}- {body}")
            else:
                out.append(f"{pad}- {yaml_scalar(item)}")
        return "\n".join(out)
    return pad + yaml_scalar(obj)


@dataclass
class AgentRun:
    workdir: Path
    clusters: dict[str, dict[str, int]]       # cluster -> {node name: port}
    preferred: str = "dc1"
    spoe_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    agent_check_port: int = field(default_factory=free_port)
    extra: dict = field(default_factory=dict)  # merged into the config (top-level keys)
    cluster_extra: dict = field(default_factory=dict)  # cluster -> keys added to its entry (tls, auth)
    schemes: dict = field(default_factory=dict)        # cluster -> "https" (default http)
    host: str = "127.0.0.1"       # where the agent's ports listen (a namespace's address: netns.py)
    node_host: str = "127.0.0.1"  # where it finds the ES nodes (netns.py: the lab's host address)
    launcher: list = field(default_factory=list)       # argv prefix (netns.py: ["ip", "netns", "exec", ns])
    proc: Optional[Proc] = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "haes.yaml"

    @property
    def admin_socket(self) -> Path:
        return self.workdir / "admin.sock"

    @property
    def state_path(self) -> Path:
        return self.workdir / "state" / "state.pb"

    def config(self) -> dict:
        cfg = {
            "spoe": {"listen": f"{self.host}:{self.spoe_port}", "threads": 2},
            "health": {"listen": f"{self.host}:{self.health_port}"},
            "agent_check": {"listen": f"{self.host}:{self.agent_check_port}"},
            "admin": {"socket": str(self.admin_socket)},
            "state": {"store": "local", "path": str(self.state_path)},
            "clusters": [
                {"name": name,
                 "nodes": [{"name": n, "url": f"{self.schemes.get(name, 'http')}://{self.node_host}:{p}"}
                           for n, p in nodes.items()],
                 **self.cluster_extra.get(name, {})}
                for name, nodes in self.clusters.items()
            ],
            "preferred": self.preferred,
            "log": {"level": "debug"},
        }
        for k, v in self.extra.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        return cfg

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(to_yaml(self.config()) + "\n")
        return self.config_path

    def start(self, procs: ProcessGroup, wait: bool = True) -> Proc:
        self.write_config()
        self.proc = procs.start("haes-agent", [*self.launcher, agent_binary(), "--config", self.config_path])
        if wait:
            self.wait_ready()
        return self.proc

    def wait_ready(self, timeout: float = 15) -> None:
        def ready():
            if self.proc is not None and not self.proc.alive():
                raise AssertionError(f"haes-agent exited: {self.proc.log()[-2000:]}")
            return port_open(self.spoe_port, self.host) and port_open(self.health_port, self.host)
        wait_for(ready, timeout, what="haes-agent ports")

    def stop(self) -> Optional[int]:
        return self.proc.stop() if self.proc else None

    def health(self, path: str) -> tuple[int, str]:
        """GET on the health port; returns (status, body)."""
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.health_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def haesctl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([str(haesctl_binary()), "--socket", str(self.admin_socket), *args],
                              capture_output=True, text=True, timeout=timeout)


def start_echo_nodes(procs: ProcessGroup, clusters: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Starts one echo node per (cluster, node); returns cluster -> {node: port}."""
    script = Path(__file__).with_name("echo_node.py")
    out: dict[str, dict[str, int]] = {}
    for cluster, nodes in clusters.items():
        out[cluster] = {}
        for node in nodes:
            port = free_port()
            procs.start(f"echo-{cluster}-{node}", ["/usr/bin/python3", script, cluster, node, port])
            out[cluster][node] = port
    for nodes in out.values():
        for port in nodes.values():
            wait_for(lambda p=port: port_open(p), 10, what=f"echo node on {port}")
    return out
