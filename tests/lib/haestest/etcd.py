"""A real etcd 3.4 cluster for tests, and a small client over its v3 JSON gateway.

EtcdCluster.start() runs N members (default 3) of Debian's etcd on run-time
loopback ports (client and peer), each with its own data directory under the
test's workdir, through the test's ProcessGroup, and waits until every member
sees the same leader and a linearizable read succeeds. Members can be
stopped, killed and restarted (keeping their data), quorum can be lost and
restored. Optional: auth (users root and haes with passwords) and TLS (a CA,
server and client certificates; client certificates required).

EtcdClient speaks the v3 JSON gateway (POST /v3/...): keys and values are
base64, 64-bit numbers are JSON strings, zero values and false are left out
(a failed txn has no "succeeded" at all). The client hides all of that: keys
and values go in as str or bytes, numbers come out as int, KV.value is bytes.
Tests use it to read what agents store, and to tamper with it.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from haestest.pki import client_context, make_ca, make_cert
from haestest.proc import Proc, ProcessGroup, free_port, wait_for

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"

Bytes = Union[str, bytes]


# ---- encoding ---------------------------------------------------------------

def _b(x: Bytes) -> bytes:
    return x.encode() if isinstance(x, str) else bytes(x)


def b64e(x: Bytes) -> str:
    return base64.b64encode(_b(x)).decode()


def b64d(s: Optional[str]) -> bytes:
    return base64.b64decode(s) if s else b""


def prefix_end(prefix: Bytes) -> bytes:
    """The range_end that makes [prefix, end) every key starting with prefix
    (etcd's GetPrefixRangeEnd); b"\\0" (every key) for an empty prefix."""
    p = bytearray(_b(prefix))
    while p:
        if p[-1] < 0xFF:
            p[-1] += 1
            return bytes(p)
        p.pop()
    return b"\0"


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes
    create_revision: int = 0
    mod_revision: int = 0
    version: int = 0
    lease: int = 0

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.value)

    @classmethod
    def from_gateway(cls, d: dict) -> "KV":
        return cls(key=b64d(d.get("key")).decode("utf-8", "replace"), value=b64d(d.get("value")),
                   create_revision=int(d.get("create_revision", 0)), mod_revision=int(d.get("mod_revision", 0)),
                   version=int(d.get("version", 0)), lease=int(d.get("lease", 0)))


# ---- txn builders -------------------------------------------------------------

_RESULTS = {"=": "EQUAL", "==": "EQUAL", "!=": "NOT_EQUAL", ">": "GREATER", "<": "LESS"}


class Cmp:
    """Compare clauses of a txn: Cmp.version("k", "=", 0) is "k does not exist"."""

    @staticmethod
    def _make(key: Bytes, op: str, target: str, field_name: str, value) -> dict:
        if op not in _RESULTS:
            raise ValueError(f"txn compare on {key!r}: operator {op!r} is not one of {sorted(_RESULTS)}")
        return {"key": b64e(key), "result": _RESULTS[op], "target": target, field_name: value}

    @staticmethod
    def value(key: Bytes, op: str, value: Bytes) -> dict:
        return Cmp._make(key, op, "VALUE", "value", b64e(value))

    @staticmethod
    def version(key: Bytes, op: str, version: int) -> dict:
        return Cmp._make(key, op, "VERSION", "version", str(version))

    @staticmethod
    def create(key: Bytes, op: str, revision: int) -> dict:
        return Cmp._make(key, op, "CREATE", "create_revision", str(revision))

    @staticmethod
    def mod(key: Bytes, op: str, revision: int) -> dict:
        return Cmp._make(key, op, "MOD", "mod_revision", str(revision))

    @staticmethod
    def lease(key: Bytes, op: str, lease: int) -> dict:
        return Cmp._make(key, op, "LEASE", "lease", str(lease))


class Op:
    """Operations of a txn's success or failure branch."""

    @staticmethod
    def put(key: Bytes, value: Bytes, lease: int = 0) -> dict:
        body = {"key": b64e(key), "value": b64e(value)}
        if lease:
            body["lease"] = str(lease)
        return {"request_put": body}

    @staticmethod
    def get(key: Bytes, prefix: bool = False) -> dict:
        body = {"key": b64e(key)}
        if prefix:
            body["range_end"] = b64e(prefix_end(key))
        return {"request_range": body}

    @staticmethod
    def delete(key: Bytes, prefix: bool = False) -> dict:
        body = {"key": b64e(key)}
        if prefix:
            body["range_end"] = b64e(prefix_end(key))
        return {"request_delete_range": body}


@dataclass
class TxnResult:
    succeeded: bool
    revision: int
    responses: list  # per op: ("put", None) | ("range", [KV]) | ("delete", deleted count)


# ---- client -------------------------------------------------------------------

class EtcdError(Exception):
    """etcd answered with an error: HTTP status, gRPC code and message."""

    def __init__(self, endpoint: str, path: str, status: Optional[int], code: Optional[int], message: str):
        super().__init__(f"etcd {endpoint}{path}: HTTP {status} code {code}: {message}")
        self.endpoint, self.path = endpoint, path
        self.status, self.code, self.message = status, code, message


class EtcdUnavailable(EtcdError):
    """No endpoint could be reached (refused, reset, timed out)."""

    def __init__(self, path: str, errors: dict):
        detail = "; ".join(f"{ep}: {err}" for ep, err in errors.items())
        Exception.__init__(self, f"etcd {path}: no endpoint answered ({detail})")
        self.endpoint, self.path, self.status, self.code, self.message = "", path, None, None, detail
        self.errors = errors


GRPC_UNAUTHENTICATED = 16
GRPC_PERMISSION_DENIED = 7
GRPC_INVALID_ARGUMENT = 3


class EtcdClient:
    """The v3 JSON gateway of one cluster. Endpoints are tried in order; the
    next one is tried only when a connection cannot be made (never after a
    timeout: the request may have been applied). With user and password, a
    token is fetched per endpoint (simple tokens are per member) and renewed
    when etcd calls it invalid."""

    def __init__(self, endpoints: Iterable[str], *, user: Optional[str] = None, password: Optional[str] = None,
                 ca: Optional[Path] = None, cert: Optional[Path] = None, key: Optional[Path] = None,
                 timeout: float = 5.0):
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise ValueError("EtcdClient: no endpoint given")
        self.user, self.password, self.timeout = user, password, timeout
        self.context: Optional[ssl.SSLContext] = None
        if any(e.startswith("https://") for e in self.endpoints):
            self.context = client_context(ca, cert, key)
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- transport --

    def _post(self, endpoint: str, path: str, body: dict, timeout: float, token: Optional[str]) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = token
        req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.context) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)
            except ValueError:
                err = {"message": raw.decode("utf-8", "replace")}
            raise EtcdError(endpoint, path, e.code, err.get("code"), err.get("message") or err.get("error", ""))

    def _token(self, endpoint: str, timeout: float) -> Optional[str]:
        if self.user is None:
            return None
        with self._lock:
            token = self._tokens.get(endpoint)
        if token is None:
            out = self._post(endpoint, "/v3/auth/authenticate", {"name": self.user, "password": self.password or ""},
                             timeout, None)
            token = out["token"]
            with self._lock:
                self._tokens[endpoint] = token
        return token

    def call(self, path: str, body: dict, timeout: Optional[float] = None, endpoint: Optional[str] = None) -> dict:
        """POSTs body to path on the first endpoint that accepts a connection
        (or on `endpoint` only); returns the decoded answer or raises EtcdError."""
        timeout = self.timeout if timeout is None else timeout
        errors: dict[str, str] = {}
        for ep in ([endpoint] if endpoint else self.endpoints):
            try:
                for attempt in (1, 2):
                    try:
                        return self._post(ep, path, body, timeout, self._token(ep, timeout))
                    except EtcdError as e:
                        if e.code == GRPC_UNAUTHENTICATED and self.user is not None and attempt == 1 \
                                and "token" in e.message:
                            with self._lock:
                                self._tokens.pop(ep, None)
                            continue
                        raise
            except (socket.timeout, TimeoutError) as e:
                raise EtcdUnavailable(path, {ep: f"timed out after {timeout}s ({e})"})
            except urllib.error.URLError as e:
                if isinstance(e.reason, (socket.timeout, TimeoutError)):
                    raise EtcdUnavailable(path, {ep: f"timed out after {timeout}s"})
                errors[ep] = str(e.reason)
            except (ConnectionError, ssl.SSLError, OSError) as e:
                errors[ep] = repr(e)
        raise EtcdUnavailable(path, errors)

    # -- keys --

    def get(self, key: Bytes, serializable: bool = False, **kw) -> Optional[KV]:
        out = self.call("/v3/kv/range", {"key": b64e(key), "serializable": serializable}, **kw)
        kvs = out.get("kvs", [])
        return KV.from_gateway(kvs[0]) if kvs else None

    def get_prefix(self, prefix: Bytes = b"", serializable: bool = False, **kw) -> list[KV]:
        """Every key starting with prefix (every key for ""), in key order."""
        body = {"key": b64e(prefix or b"\0"), "range_end": b64e(prefix_end(prefix)), "serializable": serializable}
        return [KV.from_gateway(d) for d in self.call("/v3/kv/range", body, **kw).get("kvs", [])]

    def put(self, key: Bytes, value: Bytes, lease: int = 0, **kw) -> int:
        """Returns the revision of the write."""
        body = {"key": b64e(key), "value": b64e(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self.call("/v3/kv/put", body, **kw)["header"]["revision"])

    def delete(self, key: Bytes, prefix: bool = False, **kw) -> int:
        """Returns how many keys were deleted."""
        body = {"key": b64e(key or b"\0")}
        if prefix:
            body["range_end"] = b64e(prefix_end(key))
        return int(self.call("/v3/kv/deleterange", body, **kw).get("deleted", 0))

    def revision(self, **kw) -> int:
        return int(self.call("/v3/kv/range", {"key": b64e(b"\0"), "limit": "1", "keys_only": True},
                             **kw)["header"]["revision"])

    def txn(self, compare: list, success: list = (), failure: list = (), **kw) -> TxnResult:
        """compare: Cmp.* clauses; success/failure: Op.* operations."""
        out = self.call("/v3/kv/txn", {"compare": list(compare), "success": list(success),
                                       "failure": list(failure)}, **kw)
        responses = []
        for r in out.get("responses", []):
            if "response_range" in r:
                responses.append(("range", [KV.from_gateway(d) for d in r["response_range"].get("kvs", [])]))
            elif "response_delete_range" in r:
                responses.append(("delete", int(r["response_delete_range"].get("deleted", 0))))
            else:
                responses.append(("put", None))
        return TxnResult(bool(out.get("succeeded", False)), int(out["header"]["revision"]), responses)

    # -- leases --

    def lease_grant(self, ttl: int, **kw) -> int:
        """A new lease; etcd raises a TTL below 1.5 election timeouts to that."""
        return int(self.call("/v3/lease/grant", {"TTL": str(ttl)}, **kw)["ID"])

    def lease_keepalive(self, lease: int, **kw) -> int:
        """One keep-alive; returns the renewed TTL (0: the lease is gone)."""
        out = self.call("/v3/lease/keepalive", {"ID": str(lease)}, **kw)
        return int(out.get("result", {}).get("TTL", 0))

    def lease_revoke(self, lease: int, **kw) -> None:
        self.call("/v3/lease/revoke", {"ID": str(lease)}, **kw)

    def lease_ttl(self, lease: int, **kw) -> tuple[int, int, list[str]]:
        """(remaining TTL, granted TTL, attached keys); TTL -1 when the lease is gone."""
        out = self.call("/v3/lease/timetolive", {"ID": str(lease), "keys": True}, **kw)
        return (int(out.get("TTL", 0)), int(out.get("grantedTTL", 0)),
                [b64d(k).decode("utf-8", "replace") for k in out.get("keys", [])])

    def leases(self, **kw) -> list[int]:
        return [int(x["ID"]) for x in self.call("/v3/lease/leases", {}, **kw).get("leases", [])]

    # -- cluster --

    def status(self, endpoint: Optional[str] = None, **kw) -> dict:
        """/v3/maintenance/status of one member: member_id, leader (0: none),
        raft_term, raft_index, errors (e.g. ["etcdserver: no leader"])."""
        out = self.call("/v3/maintenance/status", {}, endpoint=endpoint, **kw)
        return {"member_id": int(out["header"]["member_id"]), "leader": int(out.get("leader", 0)),
                "raft_term": int(out.get("raftTerm", 0)), "raft_index": int(out.get("raftIndex", 0)),
                "errors": out.get("errors", []), "version": out.get("version", "")}

    def members(self, **kw) -> list[dict]:
        out = self.call("/v3/cluster/member/list", {}, **kw)
        return [{"id": int(m["ID"]), "name": m.get("name", ""), "client_urls": m.get("clientURLs", []),
                 "peer_urls": m.get("peerURLs", [])} for m in out.get("members", [])]


class LeaseKeeper:
    """Holds a lease alive from a thread (one keep-alive every ttl/3 s) until
    stop() — a stand-in for a client that owns keys, for tests that tamper."""

    def __init__(self, client: EtcdClient, ttl: int):
        self.client, self.ttl = client, ttl
        self.id = client.lease_grant(ttl)
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(max(self.ttl / 3.0, 0.2)):
            try:
                self.client.lease_keepalive(self.id, timeout=max(self.ttl / 3.0, 0.5))
            except EtcdError:
                self.failures += 1

    def stop(self, revoke: bool = True) -> None:
        self._stop.set()
        self._thread.join(5)
        if revoke:
            try:
                self.client.lease_revoke(self.id)
            except EtcdError:
                pass


# ---- cluster ------------------------------------------------------------------

@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    argv: list
    scheme: str = "http"
    hosts: tuple = ("127.0.0.1",)
    proc: Optional[Proc] = None

    @property
    def client_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.client_port}"

    def client_url_on(self, host: str) -> str:
        return f"{self.scheme}://{host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.peer_port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()


@dataclass
class EtcdTLS:
    ca: Path
    server_cert: Path
    server_key: Path
    clients: dict = field(default_factory=dict)  # user -> (cert, key)


class EtcdCluster:
    """A running etcd cluster: members, endpoints, credentials, fault helpers."""

    def __init__(self, procs: ProcessGroup, workdir: Path, members: list, users: dict,
                 tls: Optional[EtcdTLS], election_ms: int):
        self.procs, self.workdir, self.members = procs, workdir, members
        self.users = users  # name -> password, when auth is on
        self.tls = tls
        self.election_ms = election_ms

    @classmethod
    def start(cls, procs: ProcessGroup, workdir: Optional[Path] = None, members: int = 3, *,
              name: str = "etcd", auth: bool = False, tls: bool = False, haes_prefix: str = "",
              hosts: Iterable[str] = ("127.0.0.1",), heartbeat_ms: int = 100, election_ms: int = 1000,
              timeout: float = 20.0) -> "EtcdCluster":
        """Starts `members` members and waits until the cluster is healthy.

        auth: users root (role root) and haes (read-write on haes_prefix, every
        key when empty), random passwords in .users, then auth enabled.
        tls: clients and peers speak TLS with certificates of a fresh CA;
        clients must present a certificate of that CA (.tls.clients holds one
        per user). hosts: addresses the client ports listen on (127.0.0.1
        first; add a bridge address for network namespaces, see netns.py)."""
        if members < 1:
            raise ValueError(f"EtcdCluster.start: members must be >= 1, not {members}")
        hosts = tuple(hosts)
        if not hosts or hosts[0] != "127.0.0.1":
            raise ValueError(f"EtcdCluster.start: hosts must start with 127.0.0.1, got {hosts}")
        workdir = Path(workdir or procs.workdir / name)
        workdir.mkdir(parents=True, exist_ok=True)
        scheme = "https" if tls else "http"
        pki = None
        if tls:
            ca = make_ca(workdir / "pki", name)
            server = make_cert(workdir / "pki", "member", ca, cn=f"{name}-member", ips=hosts,
                               server=True, client=True)
            pki = EtcdTLS(ca[0], server[0], server[1])
            for user in ("root", "haes"):
                pki.clients[user] = make_cert(workdir / "pki", f"client-{user}", ca, cn=user, ips=(), dns=(),
                                              server=False, client=True)
        ports = [(free_port(), free_port()) for _ in range(members)]
        initial = ",".join(f"{name}{i}={scheme}://127.0.0.1:{peer}" for i, (_, peer) in enumerate(ports))
        token = f"{name}-{secrets.token_hex(6)}"  # no cross-talk with another test's cluster
        mlist = []
        for i, (client_port, peer_port) in enumerate(ports):
            mname = f"{name}{i}"
            data_dir = workdir / mname
            argv = [ETCD, "--name", mname, "--data-dir", str(data_dir),
                    "--listen-client-urls", ",".join(f"{scheme}://{h}:{client_port}" for h in hosts),
                    "--advertise-client-urls", ",".join(f"{scheme}://{h}:{client_port}" for h in hosts),
                    "--listen-peer-urls", f"{scheme}://127.0.0.1:{peer_port}",
                    "--initial-advertise-peer-urls", f"{scheme}://127.0.0.1:{peer_port}",
                    "--initial-cluster", initial, "--initial-cluster-token", token,
                    "--initial-cluster-state", "new",
                    "--heartbeat-interval", str(heartbeat_ms), "--election-timeout", str(election_ms),
                    "--bcrypt-cost", "4",  # bcrypt's minimum: authenticate in ms, not 100 ms
                    "--logger=zap", "--log-level=warn"]
            if pki:
                argv += ["--cert-file", pki.server_cert, "--key-file", pki.server_key,
                         "--trusted-ca-file", pki.ca, "--client-cert-auth",
                         "--peer-cert-file", pki.server_cert, "--peer-key-file", pki.server_key,
                         "--peer-trusted-ca-file", pki.ca, "--peer-client-cert-auth"]
            mlist.append(EtcdMember(mname, client_port, peer_port, data_dir, [str(a) for a in argv], scheme, hosts))
        cluster = cls(procs, workdir, mlist, {}, pki, election_ms)
        for m in mlist:
            cluster._spawn(m)
        cluster.wait_healthy(timeout)
        if auth:
            cluster._enable_auth(haes_prefix)
            cluster.wait_healthy(timeout)
        return cluster

    # -- addresses and clients --

    @property
    def endpoints(self) -> list[str]:
        """Client URLs of every member on 127.0.0.1 (running or not)."""
        return [m.client_url for m in self.members]

    def endpoints_on(self, host: str) -> list[str]:
        return [m.client_url_on(host) for m in self.members]

    def member(self, m: Union[int, str, EtcdMember]) -> EtcdMember:
        if isinstance(m, EtcdMember):
            return m
        if isinstance(m, int):
            return self.members[m]
        for x in self.members:
            if x.name == m:
                return x
        raise KeyError(f"no etcd member {m!r} (members: {[x.name for x in self.members]})")

    def client(self, member=None, user: Optional[str] = "root", password: Optional[str] = None,
               timeout: float = 5.0) -> EtcdClient:
        """A client of one member (or of all, in order). With auth on, it logs
        in as user (root by default; user=None: anonymous); with TLS on, it
        presents user's client certificate."""
        endpoints = [self.member(member).client_url] if member is not None else self.endpoints
        kw: dict = {"timeout": timeout}
        if self.users and user is not None:
            kw.update(user=user, password=password if password is not None else self.users[user])
        if self.tls:
            cert = self.tls.clients.get(user or "haes")
            kw.update(ca=self.tls.ca, cert=cert[0] if cert else None, key=cert[1] if cert else None)
        return EtcdClient(endpoints, **kw)

    def etcdctl(self, *args: str, member=None, user: Optional[str] = "root",
                timeout: float = 30) -> subprocess.CompletedProcess:
        """Runs etcdctl (API v3) against the cluster with its credentials."""
        endpoints = [self.member(member).client_url] if member is not None else self.endpoints
        argv = [ETCDCTL, "--endpoints", ",".join(endpoints), "--dial-timeout", "2s", "--command-timeout", "5s"]
        if self.users and user:
            argv += ["--user", f"{user}:{self.users[user]}"]
        if self.tls:
            cert, key = self.tls.clients[user or "haes"]
            argv += ["--cacert", str(self.tls.ca), "--cert", str(cert), "--key", str(key)]
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout,
                              env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})

    # -- health --

    def _status_of(self, m: EtcdMember, timeout: float = 1.0) -> dict:
        return self.client(m, timeout=timeout).status(m.client_url)

    def leader(self) -> Optional[EtcdMember]:
        """The member every running member names as leader, or None."""
        ids, leaders = {}, set()
        for m in self.members:
            if not m.alive():
                continue
            try:
                st = self._status_of(m)
            except EtcdError:
                return None
            ids[st["member_id"]] = m
            leaders.add(st["leader"])
        if len(leaders) != 1:
            return None
        return ids.get(leaders.pop())

    def healthy(self, members: Optional[list] = None) -> bool:
        """Every given (default: every running) member answers, names the same
        leader, has no error, and a linearizable read through each succeeds."""
        chosen = [self.member(m) for m in members] if members is not None else \
            [m for m in self.members if m.alive()]
        if not chosen:
            return False
        leaders = set()
        for m in chosen:
            if not m.alive():
                raise AssertionError(f"etcd member {m.name} exited: {m.proc.log()[-2000:] if m.proc else ''}")
            st = self._status_of(m)
            if st["errors"] or not st["leader"]:
                return False
            leaders.add(st["leader"])
        if len(leaders) != 1:
            return False
        for m in chosen:
            self.client(m, timeout=2).get("/haestest/health-probe")
        return True

    def wait_healthy(self, timeout: float = 20.0, members: Optional[list] = None) -> None:
        wait_for(lambda: self.healthy(members), timeout, interval=0.05,
                 what=f"etcd cluster {self.workdir.name} healthy")

    def has_quorum(self, member=None, timeout: float = 1.0) -> bool:
        """Whether a running member (the first, or `member`) knows a leader."""
        running = [m for m in self.members if m.alive()]
        if member is None and not running:
            return False
        chosen = self.member(member) if member is not None else running[0]
        st = self._status_of(chosen, timeout)
        return bool(st["leader"]) and not st["errors"]

    # -- faults --

    def _spawn(self, m: EtcdMember) -> None:
        m.proc = self.procs.start(m.name, m.argv)

    def stop_member(self, m, grace: float = 5.0) -> None:
        """SIGTERM (etcd leaves cleanly); the data directory stays."""
        m = self.member(m)
        if m.proc:
            m.proc.stop(grace)

    def kill_member(self, m) -> None:
        """SIGKILL: a crash; the data directory stays."""
        m = self.member(m)
        if m.proc and m.proc.alive():
            m.proc.kill9()

    def start_member(self, m, wait: bool = True, timeout: float = 20.0) -> EtcdMember:
        """Starts a stopped member again from its data directory; with wait,
        until it rejoined (sees the leader and serves a linearizable read)."""
        m = self.member(m)
        if m.alive():
            raise AssertionError(f"etcd member {m.name} is already running")
        self._spawn(m)
        if wait:
            wait_for(lambda: self.healthy([m]), timeout, interval=0.05, what=f"etcd member {m.name} rejoined")
        return m

    def restart_member(self, m, kill: bool = False, wait: bool = True) -> EtcdMember:
        (self.kill_member if kill else self.stop_member)(m)
        return self.start_member(m, wait)

    def lose_quorum(self, kill: bool = False, keep=None) -> list[EtcdMember]:
        """Stops (or kills) members until fewer than a majority run; keeps
        `keep` (default: the first running member that is not the leader, so
        the survivor is a follower that lost its leader). Returns the stopped
        members, for restore_quorum()."""
        running = [m for m in self.members if m.alive()]
        majority = len(self.members) // 2 + 1
        if keep is None:
            leader = self.leader()
            keep = next((m for m in running if m is not leader), running[0])
        keep = self.member(keep)
        victims = [m for m in running if m is not keep][:max(0, len(running) - (majority - 1))]
        for m in victims:
            (self.kill_member if kill else self.stop_member)(m)
        return victims

    def restore_quorum(self, stopped: list, wait: bool = True, timeout: float = 20.0) -> None:
        for m in stopped:
            self.start_member(m, wait=False)
        if wait:
            self.wait_healthy(timeout)

    def stop(self) -> None:
        """Stops every member (their data stays)."""
        for m in reversed(self.members):
            self.stop_member(m)

    # -- auth --

    def _enable_auth(self, haes_prefix: str) -> None:
        c = self.client(user=None)
        self.users = {"root": secrets.token_hex(8), "haes": secrets.token_hex(8)}
        for user, pw in self.users.items():
            c.call("/v3/auth/user/add", {"name": user, "password": pw})
            c.call("/v3/auth/role/add", {"name": user})
            c.call("/v3/auth/user/grant", {"user": user, "role": user})
        key = haes_prefix.encode() or b"\0"
        c.call("/v3/auth/role/grant", {"name": "haes", "perm": {
            "permType": "READWRITE", "key": b64e(key), "range_end": b64e(prefix_end(haes_prefix))}})
        c.call("/v3/auth/enable", {})
        for user, pw in self.users.items():
            (self.workdir / f"{user}.password").write_text(pw + "\n")


def watch_keys(client: EtcdClient, prefix: Bytes, start_revision: int, until: Callable[[list], bool],
               timeout: float = 10.0) -> list[dict]:
    """Reads the watch stream of every key under prefix from start_revision
    until until(events so far) holds or timeout; returns the events as
    {"type": "PUT"|"DELETE", "kv": KV}. For asserting the order of writes."""
    body = {"create_request": {"key": b64e(prefix or b"\0"), "range_end": b64e(prefix_end(prefix)),
                               "start_revision": str(start_revision)}}
    ep = client.endpoints[0]
    headers = {"Content-Type": "application/json"}
    token = client._token(ep, timeout)
    if token:
        headers["Authorization"] = token
    req = urllib.request.Request(ep + "/v3/watch", data=json.dumps(body).encode(), method="POST", headers=headers)
    events: list[dict] = []
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=client.context) as r:
            for line in r:
                result = json.loads(line).get("result", {})
                for ev in result.get("events", []):
                    events.append({"type": ev.get("type", "PUT"), "kv": KV.from_gateway(ev.get("kv", {}))})
                if until(events):
                    return events
    except (socket.timeout, TimeoutError):
        pass
    raise AssertionError(f"watch {prefix!r} from revision {start_revision}: condition not met in {timeout}s; "
                         f"events: {[(e['type'], e['kv'].key, e['kv'].text) for e in events]}")
