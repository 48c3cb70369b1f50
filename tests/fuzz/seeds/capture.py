#!/usr/bin/python3
"""Captures the seed corpora of the fuzz targets from real processes
(docs/fuzzing.md, "Seed corpora"):

  es_answer/    essim's answers, as "<status>\\n<body>": cluster health in
                every colour, 401/404/503 error bodies, snapshot, restore,
                _cat and settings answers (what the monitor and the sync read);
  etcd_answer/  a real etcd 3.4's v3 JSON gateway answers (range, put, txn
                that succeeds and fails, lease grant/keepalive/revoke,
                authenticate, every error body we could provoke), and the
                agent records and membership list of two agents;
  http_request/ the requests HAProxy 2.6 sends to the health port
                (option httpchk) and the agent-check port (agent-send);
  admin/        every example line of docs/admin.md and README.md;
  config/       the shipped configurations and the ones the tests write;
  store_codec/  the state file and event journal a real haes-agent wrote
                (start, pause, resume, a failover) — needs the build.

Run from the repository root (needs essim, etcd, HAProxy; starts them on
loopback ports and stops them):
    /usr/bin/python3 tests/fuzz/seeds/capture.py [--only NAME]
Files are written to tests/fuzz/corpus/<name>/ under fixed names; run.sh
--minimize then keeps the ones that add coverage.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "lib"))

from haestest.agent import AgentRun, to_yaml  # noqa: E402
from haestest.essim import EssimCluster  # noqa: E402
from haestest.etcd import EtcdCluster  # noqa: E402
from haestest.proc import ProcessGroup, free_port, wait_for  # noqa: E402

CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def write(name: str, file: str, data: bytes) -> None:
    d = CORPUS / name
    d.mkdir(parents=True, exist_ok=True)
    (d / file).write_bytes(data)


def raw(method: str, url: str, body=None, headers=None, timeout=10.0) -> tuple[int, bytes]:
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---- essim ------------------------------------------------------------------

def capture_es(procs: ProcessGroup, work: Path) -> None:
    repo = work / "repo"
    users = work / "users.json"
    users.write_text(json.dumps({"users": {"haes": "secret"}}))
    dc1 = EssimCluster.start(procs, "dc1", nodes=3, repo_root=repo)
    dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=repo)
    secured = EssimCluster.start(procs, "dc3", nodes=1, repo_root=repo, users=str(users))
    n = [0]

    def save(label: str, cluster: EssimCluster, method: str, path: str, body=None, node=None, headers=None):
        status, out = raw(method, cluster.url(node) + path, body, headers)
        n[0] += 1
        write("es_answer", f"{n[0]:02d}-{label}", f"{status}\n".encode() + out)
        return status, out

    save("health-green", dc1, "GET", "/_cluster/health")
    save("root", dc1, "GET", "/")
    dc1.create_index("logs-1", shards=2, replicas=1)
    dc1.bulk_index("logs-1", {i: {"n": i, "msg": "é ü ✓"} for i in range(20)})
    save("health-green-index", dc1, "GET", "/_cluster/health")
    save("cat-indices", dc1, "GET", "/_cat/indices?format=json")
    settings = {"type": "fs", "settings": {"location": "haes"}}
    save("repo-put", dc1, "PUT", "/_snapshot/haes", settings)
    save("repo-put-dc2", dc2, "PUT", "/_snapshot/haes", settings)
    save("repo-get", dc1, "GET", "/_snapshot/haes")
    save("snapshot-start", dc1, "PUT", "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1?wait_for_completion=false",
         {"indices": "logs-*,-.*", "include_global_state": False})
    wait_for(lambda: raw("GET", dc1.url() + "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1")[1].find(b"SUCCESS")
             >= 0, 20, what="snapshot")
    save("snapshot-get", dc1, "GET", "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1")
    save("snapshot-status", dc1, "GET", "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1/_status")
    save("snapshot-all", dc1, "GET", "/_snapshot/haes/_all")
    save("cat-snapshots", dc1, "GET", "/_cat/snapshots/haes?format=json")
    save("snapshot-missing", dc1, "GET", "/_snapshot/haes/nope")
    save("restore", dc2, "POST", "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1/_restore?wait_for_completion=true",
         {"indices": "logs-1", "include_global_state": False, "include_aliases": True})
    save("restore-exists", dc2, "POST", "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1/_restore"
         "?wait_for_completion=true", {"indices": "logs-1"})
    save("cat-indices-dc2", dc2, "GET", "/_cat/indices?format=json")
    save("settings-block", dc2, "PUT", "/logs-1/_settings", {"index.blocks.write": True})
    save("write-blocked", dc2, "POST", "/logs-1/_doc", {"n": 1})
    save("snapshot-delete", dc1, "DELETE", "/_snapshot/haes/haes-e1-20260101t000000.000z-dc1")
    save("index-missing", dc1, "GET", "/nope/_count")
    save("bad-request", dc1, "POST", "/_snapshot/haes/x/_restore", b"{not json")
    save("unauthorized", secured, "GET", "/_cluster/health")
    auth = {"Authorization": "Basic " + base64.b64encode(b"haes:wrong").decode()}
    save("unauthorized-bad-password", secured, "GET", "/_cluster/health", headers=auth)
    dc1.create_index("logs-2", shards=1, replicas=2)
    dc1.stop_node(2)
    save("health-yellow", dc1, "GET", "/_cluster/health", node=dc1.node_names[0])
    dc1.force_red()
    save("health-red", dc1, "GET", "/_cluster/health", node=dc1.node_names[0])
    dc1.heal()
    dc1.fail_node(0, status=503)
    save("injected-503", dc1, "GET", "/_cluster/health", node=dc1.node_names[0])
    dc1.clear_node(0)
    dc2.stop_node(1)
    dc2.set_master_wait(0.2)
    save("no-master", dc2, "GET", "/_cluster/health", node=dc2.node_names[0])


# ---- etcd -------------------------------------------------------------------

def capture_etcd(procs: ProcessGroup, work: Path) -> None:
    etcd = EtcdCluster.start(procs, work / "etcd", members=1)
    url = etcd.endpoints[0]
    n = [0]

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    def save(label: str, path: str, body: dict, base: str = url, headers=None):
        status, out = raw("POST", base + path, body, headers)
        n[0] += 1
        write("etcd_answer", f"{n[0]:02d}-{label}", out)
        return json.loads(out) if out.startswith(b"{") else {}

    save("range-empty", "/v3/kv/range", {"key": b64("/haes/state")})
    save("put", "/v3/kv/put", {"key": b64("/haes/state"), "value": b64("state bytes")})
    save("range-one", "/v3/kv/range", {"key": b64("/haes/state")})
    record = {"name": "agent-a", "epoch": 3, "active": "dc1", "members_version": 2,
              "peer_url": "http://127.0.0.1:9500", "admin_url": "", "at_ms": 1767225600000,
              "clusters": [{"name": "dc1", "health": "green", "bad_rounds": 0, "red": False, "unreachable": False},
                           {"name": "dc2", "health": "unreachable", "bad_rounds": 2, "red": False,
                            "unreachable": True}]}
    members = {"version": 2, "agents": {"agent-a": {"peer_url": "http://127.0.0.1:9500", "admin_url": ""},
                                        "agent-b": {"peer_url": "http://127.0.0.1:9501",
                                                    "admin_url": "http://127.0.0.1:9601"}}}
    lease = save("lease-grant", "/v3/lease/grant", {"TTL": "5"})
    save("put-leased", "/v3/kv/put", {"key": b64("/haes/agents/agent-a"), "value": b64(json.dumps(record)),
                                      "lease": lease["ID"]})
    save("put-members", "/v3/kv/put", {"key": b64("/haes/members"), "value": b64(json.dumps(members))})
    save("range-prefix", "/v3/kv/range", {"key": b64("/haes/"), "range_end": b64("/haes0")})
    save("range-count-only", "/v3/kv/range", {"key": b64("/haes/"), "range_end": b64("/haes0"), "count_only": True})
    save("range-keys-only-limit", "/v3/kv/range", {"key": b64("/haes/"), "range_end": b64("/haes0"),
                                                   "keys_only": True, "limit": "1"})
    cur = save("range-state", "/v3/kv/range", {"key": b64("/haes/state")})
    mod = cur["kvs"][0]["mod_revision"]
    ok = {"compare": [{"key": b64("/haes/state"), "target": "MOD", "result": "EQUAL", "mod_revision": mod}],
          "success": [{"request_put": {"key": b64("/haes/state"), "value": b64("next")}},
                      {"request_range": {"key": b64("/haes/state")}}],
          "failure": [{"request_range": {"key": b64("/haes/state")}}]}
    save("txn-succeeded", "/v3/kv/txn", ok)
    save("txn-failed", "/v3/kv/txn", ok)
    save("txn-create", "/v3/kv/txn", {"compare": [{"key": b64("/haes/new"), "target": "CREATE", "result": "EQUAL",
                                                   "create_revision": "0"}],
                                      "success": [{"request_put": {"key": b64("/haes/new"), "value": b64("1")}}]})
    save("lease-keepalive", "/v3/lease/keepalive", {"ID": lease["ID"]})
    save("lease-ttl", "/v3/lease/timetolive", {"ID": lease["ID"], "keys": True})
    save("lease-revoke", "/v3/lease/revoke", {"ID": lease["ID"]})
    save("lease-keepalive-gone", "/v3/lease/keepalive", {"ID": lease["ID"]})
    save("put-unknown-lease", "/v3/kv/put", {"key": b64("/x"), "value": b64("y"), "lease": "12345"})
    save("delete", "/v3/kv/deleterange", {"key": b64("/haes/new")})
    save("bad-key", "/v3/kv/range", {"key": "not base64!"})
    save("bad-json", "/v3/kv/range", {"key": b64("/x"), "limit": "many"})
    save("status", "/v3/maintenance/status", {})
    save("members", "/v3/cluster/member/list", {})
    save("auth-disabled", "/v3/auth/authenticate", {"name": "root", "password": "x"})
    write("etcd_answer", "record-agent-a", json.dumps(record).encode())
    write("etcd_answer", "members", json.dumps(members).encode())

    secured = EtcdCluster.start(procs, work / "etcd-auth", members=1, name="etcdauth", auth=True)
    surl = secured.endpoints[0]
    token = save("authenticate", "/v3/auth/authenticate", {"name": "haes", "password": secured.users["haes"]},
                 base=surl)
    save("authenticate-failed", "/v3/auth/authenticate", {"name": "haes", "password": "wrong"}, base=surl)
    save("no-token", "/v3/kv/range", {"key": b64("/haes/state")}, base=surl)
    save("bad-token", "/v3/kv/range", {"key": b64("/haes/state")}, base=surl, headers={"Authorization": "nope"})
    save("range-with-token", "/v3/kv/range", {"key": b64("/haes/state")}, base=surl,
         headers={"Authorization": token["token"]})


# ---- HAProxy's checks -------------------------------------------------------

def capture_http(procs: ProcessGroup, work: Path) -> None:
    """What HAProxy 2.6 really sends: a listener records the first bytes of
    each connection of an httpchk and of an agent-check server line."""
    health, agent = socket.socket(), socket.socket()
    for s in (health, agent):
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        s.settimeout(10)
    cfg = work / "haproxy.cfg"
    cfg.write_text(f"""global
  log stderr local0 warning
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 1s
frontend fe
  bind 127.0.0.1:{free_port()}
  default_backend es_dc1
backend es_dc1
  option httpchk
  http-check send meth GET uri /lb/dc1/es1 ver HTTP/1.1 hdr Host haes
  server es1 127.0.0.1:1 check port {health.getsockname()[1]} inter 200ms
backend es_plain
  option httpchk
  server es2 127.0.0.1:1 check port {health.getsockname()[1]} inter 200ms
backend es_agent
  server es1 127.0.0.1:1 check agent-check agent-port {agent.getsockname()[1]} agent-inter 200ms agent-send "dc1/es1\\n"
""")
    procs.start("haproxy", ["/usr/sbin/haproxy", "-f", cfg, "-db"])
    seen = {}
    for label, s in (("health", health), ("agent", agent)):
        for _ in range(4):
            conn, _ = s.accept()
            conn.settimeout(2)
            data = b""
            try:
                while not data.endswith(b"\n\n") and not data.endswith(b"\r\n\r\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if label == "agent":
                        break
            except socket.timeout:
                pass
            conn.close()
            seen.setdefault(data, label)
    for i, (data, label) in enumerate(seen.items()):
        write("http_request", f"haproxy-{label}-{i}", data)
    write("http_request", "metrics", b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9500\r\nUser-Agent: Prometheus/2.42.0\r\n"
          b"Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\r\n")
    write("http_request", "peer", b"GET /peer HTTP/1.1\r\nHost: 127.0.0.1:9501\r\nConnection: keep-alive\r\n\r\n"
          b"GET /lb/dc2 HTTP/1.1\r\nConnection: close\r\n\r\n")
    write("http_request", "agent-space", b"dc2 es2\n")


# ---- admin lines and configurations ----------------------------------------

def capture_admin() -> None:
    lines = set()
    for doc in ("docs/admin.md", "README.md", "docs/runbook.md", "docs/sync.md", "docs/failover.md"):
        text = (ROOT / doc).read_text()
        for m in re.finditer(r"`(?:haesctl )?((?:status|events|failback|switchover|failover|pause|resume|ack|"
                             r"sync|verify-restore|show|help)(?:[ ][^`]*)?)`", text):
            lines.add(m.group(1).strip())
    for line in sorted(lines):
        name = re.sub(r"[^a-z0-9]+", "-", line.lower()).strip("-")[:60] or "line"
        write("admin", name, line.encode())
    write("admin", "quoted-reason", b'pause --reason "maintenance \\"window\\" of dc1" --for 1h30m --json')
    write("admin", "inline-flag", b"failover --to=dc2 --force --reason=test --dry-run")


def capture_config(work: Path) -> None:
    for f in ("docker/haes.yaml",):
        write("config", Path(f).name, (ROOT / f).read_bytes())
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"```yaml\n(# /etc/haes/haes.yaml.*?)```", readme, re.S)
    if m:
        write("config", "readme.yaml", m.group(1).encode())
    run = AgentRun(workdir=work / "agent", clusters={"dc1": {"es1": 9201, "es2": 9202}, "dc2": {"es1": 9301}})
    write("config", "test-agent.yaml", (to_yaml(run.config()) + "\n").encode())
    run.extra = {"sync": {"interval": "10s", "repository": {"name": "haes", "type": "fs",
                                                           "settings": {"location": "haes"}},
                          "indices": ["logs-*"], "retention": {"keep": 3, "max_age": "7d"}},
                 "failover": {"interval": "500ms", "fail_threshold": 3, "hold_down": "30s"},
                 "state": {"store": "etcd", "etcd": {"endpoints": ["http://127.0.0.1:2379"], "prefix": "/haes"}},
                 "agent": {"name": "agent-a"}}
    write("config", "test-agent-sync-etcd.yaml", (to_yaml(run.config()) + "\n").encode())
    for md in ("docs/config.md", "docs/sync.md", "docs/state-store.md", "docs/install.md"):
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", (ROOT / md).read_text(), re.S)):
            write("config", f"{Path(md).stem}-{i}.yaml", block.encode())


def capture_store(procs: ProcessGroup, work: Path) -> None:
    dc1 = EssimCluster.start(procs, "dc1", nodes=2, repo_root=work / "repo")
    dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=work / "repo")
    run = AgentRun(workdir=work / "agent", clusters={"dc1": dc1.ports, "dc2": dc2.ports})
    run.start(procs)
    for args in (["pause", "--reason", "maintenance window é", "--for", "1h"], ["resume"],
                 ["failover", "--to", "dc2", "--reason", "drill"], ["events", "--json"]):
        r = run.haesctl(*args)
        if r.returncode != 0:
            raise AssertionError(f"haesctl {args}: {r.stdout} {r.stderr}")
    run.proc.stop()
    state = run.state_path
    write("store_codec", "state.pb", state.read_bytes())
    for f in sorted(state.parent.iterdir()):
        if f != state and f.is_file() and f.suffix != ".lock":  # the journal, not the lock
            write("store_codec", f.name, f.read_bytes())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["es", "etcd", "http", "admin", "config", "store"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="haes-capture-") as tmp:
        work = Path(tmp)
        if args.only in (None, "admin"):
            capture_admin()
        if args.only in (None, "config"):
            capture_config(work)
        for name, fn in (("es", capture_es), ("etcd", capture_etcd), ("http", capture_http),
                         ("store", capture_store)):
            if args.only in (None, name):
                with ProcessGroup(work / name) as procs:
                    fn(procs, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
