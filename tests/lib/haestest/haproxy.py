"""Runs Debian's HAProxy with the shipped haproxy-conf/ files, unchanged.

The configuration reads every address from environment variables (see
docs/haproxy.md); this module picks loopback ports, sets the variables, starts
`haproxy -db` through a ProcessGroup and reads HAProxy's stats socket.
"""

from __future__ import annotations

import csv
import io
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from haestest.proc import ProcessGroup, Proc, free_port, source_dir, wait_for

HAPROXY = "/usr/sbin/haproxy"


def conf_dir() -> Path:
    return source_dir() / "haproxy-conf"


def haproxy_check(env: dict, cfg: Optional[Path] = None) -> tuple[int, str]:
    """Runs `haproxy -c` on the shipped config with env; returns (exit code, output)."""
    import os
    import subprocess
    full_env = dict(os.environ)
    full_env.update(env)
    cfg = cfg or conf_dir() / "haproxy.cfg"
    res = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], env=full_env,
                         capture_output=True, text=True, timeout=30)
    return res.returncode, res.stdout + res.stderr


def derive_config(src: Path, dest: Path, *replacements: tuple[str, str]) -> Path:
    """Writes src to dest with each (old, new) replaced, for a test that
    varies one thing of a shipped file. An `old` that is not in src fails the
    test: the shipped file changed and the test must follow it."""
    text = Path(src).read_text()
    for old, new in replacements:
        assert old in text, f"{src} no longer contains {old!r}"
        text = text.replace(old, new)
    Path(dest).write_text(text)
    return Path(dest)


def openssl(*args: str) -> None:
    import subprocess
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A throw-away CA for a test: (certificate, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}-ca.pem", directory / f"{name}-ca-key.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "2", "-subj", f"/CN={name} test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_cert(directory: Path, name: str, ca: tuple[Path, Path], dns: str = "localhost") -> tuple[Path, Path, Path]:
    """A server certificate signed by ca for DNS name dns and IP 127.0.0.1:
    (certificate, key, both in one PEM file as HAProxy's crt wants)."""
    cert, key, csr = directory / f"{name}.pem", directory / f"{name}-key.pem", directory / f"{name}.csr"
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName=DNS:{dns},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", f"/CN={dns}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    both = directory / f"{name}-with-key.pem"
    both.write_text(cert.read_text() + key.read_text())
    return cert, key, both


def haproxy_version() -> tuple[int, int]:
    import subprocess
    out = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=10).stdout
    # "HAProxy version 2.6.12-1+deb12u4 ..."
    ver = out.split("version", 1)[1].split()[0]
    major, minor = ver.split(".")[:2]
    return int(major), int(minor)


@dataclass
class HAProxy:
    proc: Proc
    frontend_port: int
    stats_socket: Path
    env: dict = field(default_factory=dict)
    scheme: str = "http"  # "https" when the configuration binds with ssl
    client_context: Optional[object] = None  # ssl.SSLContext for an https frontend

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.frontend_port}"

    @classmethod
    def start(cls, procs: ProcessGroup, workdir: Path, *, spoe_port: int,
              health_port: int, nodes: dict[str, list[int]],
              check_inter: str = "200ms", spoe_check_inter: str = "200ms",
              extra_env: Optional[dict] = None,
              cfg: Optional[Path] = None, scheme: str = "http",
              frontend_port: Optional[int] = None) -> "HAProxy":
        """Starts HAProxy in front of the given ES node ports.

        nodes maps cluster name ("dc1", "dc2") to its two node ports, which
        become servers es1 and es2 of backend es_<cluster>. cfg: another
        file than haproxy-conf/haproxy.cfg (a variant); scheme "https" for a
        configuration whose frontend binds with ssl; frontend_port: chosen
        beforehand (free_port()) when the agent's config names it.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        frontend_port = frontend_port or free_port()
        stats = workdir / "haproxy-stats.sock"
        env = {
            "HAES_FRONTEND_BIND": f"127.0.0.1:{frontend_port}",
            "HAES_SPOE_CONF": str(conf_dir() / "haes-spoe.conf"),
            "HAES_SPOE_ADDR": f"127.0.0.1:{spoe_port}",
            "HAES_SPOE_CHECK_INTER": spoe_check_inter,
            "HAES_HEALTH_HOST": "127.0.0.1",
            "HAES_HEALTH_PORT": str(health_port),
            "HAES_CHECK_INTER": check_inter,
            "HAES_HAPROXY_STATS_SOCKET": str(stats),
        }
        for cluster, ports in nodes.items():
            for i, port in enumerate(ports, start=1):
                env[f"HAES_{cluster.upper()}_ES{i}"] = f"127.0.0.1:{port}"
        if extra_env:
            env.update(extra_env)
        cfg = cfg or conf_dir() / "haproxy.cfg"
        proc = procs.start("haproxy", [HAPROXY, "-db", "-f", str(cfg)], env=env)
        hap = cls(proc, frontend_port, stats, env, scheme)
        wait_for(lambda: stats.exists() and hap.stats_command("show info"), 15,
                 what="haproxy stats socket")
        return hap

    def stats_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.stats_socket))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[tuple[str, str], str]:
        """(backend, server) -> status column of `show stat` (UP, DOWN, MAINT, ...)."""
        text = self.stats_command("show stat")
        text = text.lstrip("# ")
        out = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("svname") in ("FRONTEND", "BACKEND"):
                continue
            out[(row["pxname"], row["svname"])] = row["status"]
        return out

    def server_stats(self) -> dict[tuple[str, str], dict]:
        """(backend, server) -> the whole `show stat` row: status, weight,
        check_status, last_chk, agent_status, last_agt, ..."""
        text = self.stats_command("show stat").lstrip("# ")
        return {(row["pxname"], row["svname"]): row for row in csv.DictReader(io.StringIO(text))
                if row.get("svname") not in ("FRONTEND", "BACKEND")}

    def wait_servers(self, backend: str, status: str, timeout: float = 15) -> None:
        """Waits until every server of backend reports status (e.g. "UP", "DOWN")."""
        def ok():
            states = {k: v for k, v in self.server_states().items() if k[0] == backend}
            return states and all(v.split()[0] == status for v in states.values())
        wait_for(ok, timeout, what=f"all servers of {backend} {status}")

    def get(self, path: str = "/", timeout: float = 5.0) -> "Response":
        """One HTTP request through the frontend (new connection each time)."""
        return self.request("GET", path, timeout=timeout)

    def request(self, method: str, path: str, body=None, timeout: float = 10.0,
                context=None) -> "Response":
        """One request through the frontend (new connection each time). body:
        a dict (sent as JSON), str or bytes (sent as NDJSON, for _bulk), or
        None. context: an ssl.SSLContext when the frontend speaks TLS."""
        import json
        data, headers = None, {}
        if isinstance(body, dict):
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif body is not None:
            data = body.encode() if isinstance(body, str) else body
            headers["Content-Type"] = "application/x-ndjson"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=context or self.client_context) as r:
                return Response(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read())


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        import json
        return json.loads(self.body)
