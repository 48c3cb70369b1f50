"""The security baseline (docs/security.md), live:

- secrets (Elasticsearch password and API key, the etcd password, the admin
  port's token) never appear in the agent's log, argv, status, `show
  config`, events, /metrics, the state store or anything it writes, through
  a whole session: start, syncs, a failover, commands, the admin port;
- a file holding a secret that everyone may read is refused at start,
  naming the key, the file and its mode;
- TLS verification is on by default towards Elasticsearch and etcd; a wrong
  CA or a wrong name is refused with an error saying so;
- the admin socket: created with its configured mode; a user the mode does
  not let in is refused by the kernel; whoever gets in is named in the
  journal from the socket's peer credentials (SO_PEERCRED).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from haestest.agent import AgentRun, agent_binary, haesctl_binary
from haestest.bed import Bed
from haestest.essim import EssimCluster
from haestest.etcd import EtcdCluster
from haestest.pki import make_ca, make_cert
from haestest.proc import free_port, wait_for

SYNC = {"interval": "1h", "indices": ["orders*"],
        "repository": {"name": "haes", "type": "fs", "settings": {"location": "shared"}}}


def secret_file(path: Path, value: str, mode: int = 0o600) -> Path:
    path.write_text(value + "\n")
    path.chmod(mode)
    return path


def nodes_of(cluster: EssimCluster) -> dict:
    return {f"es{i}": cluster.port(n) for i, n in enumerate(cluster.node_names, start=1)}


def status(agent: AgentRun) -> dict:
    r = agent.haesctl("status", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def cluster_status(agent: AgentRun, name: str) -> dict:
    return next(c for c in status(agent)["clusters"] if c["name"] == name)


def forms(secret: str) -> set:
    """A secret and the encodings it travels in (Basic, ApiKey headers)."""
    b = secret.encode()
    return {secret, base64.b64encode(b).decode(), base64.b64encode(b"haes:" + b).decode()}


def test_no_secret_appears_anywhere_through_a_whole_session(procs, tmp_path, monkeypatch):
    es_pw = "espw-" + secrets.token_hex(8)
    api_id, api_key = "kid", "apikey-" + secrets.token_hex(8)
    token = "admintoken-" + secrets.token_hex(8)
    # etcd auth on (TLS towards etcd is tested apart below: with a client certificate, etcd's JSON
    # gateway refuses password logins: "CommonName of client ... will be ignored").
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", members=1, auth=True)
    etcd_pw = etcd.users["haes"]
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"users": {"haes": es_pw}, "api_keys": {api_id: api_key}}))
    repo = tmp_path / "repo"
    dc1 = EssimCluster.start(procs, "dc1", nodes=2, repo_root=repo, workdir=tmp_path / "essim-dc1", users=users)
    dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=repo, workdir=tmp_path / "essim-dc2", users=users)
    basic = "Basic " + base64.b64encode(f"haes:{es_pw}".encode()).decode()
    status_, out = dc1.es("PUT", "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}},
                          headers={"Authorization": basic})  # something to sync
    assert status_ == 200, out
    sec = tmp_path / "secrets"
    sec.mkdir()
    pki = tmp_path / "pki"
    admin_ca = make_ca(pki, "admin")
    admin_cert = make_cert(pki, "agent-admin", admin_ca)
    admin_port = free_port()
    monkeypatch.setenv("HAES_TEST_API_KEY", f"{api_id}:{api_key}")
    agent = AgentRun(tmp_path / "agent", {"dc1": nodes_of(dc1), "dc2": nodes_of(dc2)}, cluster_extra={
        "dc1": {"auth": {"username": "haes", "password_file": str(secret_file(sec / "es.pw", es_pw))}},
        "dc2": {"auth": {"api_key_env": "HAES_TEST_API_KEY"}},
    }, extra={
        "failover": {"hold_down": "1s"},
        "sync": SYNC,
        "state": {"store": "etcd", "etcd": {
            "endpoints": etcd.endpoints, "prefix": "/haes-sec/", "username": "haes",
            "password_file": str(secret_file(sec / "etcd.pw", etcd_pw))}},
        "admin": {"port": {"listen": f"127.0.0.1:{admin_port}", "cert_file": str(admin_cert[0]),
                           "key_file": str(admin_cert[1]),
                           "token_file": str(secret_file(sec / "admin.token", token))}},
    })
    agent.start(procs)
    bed = Bed(procs, tmp_path, dc1, dc2, agent, None)
    bed.wait_status(lambda s: all(c["health"] == "green" for c in s["clusters"]), timeout=30,
                    what="both clusters green with credentials")
    bed.wait_status(lambda s: s["sync"]["last_result"] != "", timeout=60, what="the first sync")

    # Commands over the socket and over the admin port (token from a file).
    outputs = []
    for args in (("status",), ("status", "--json"), ("show", "config"), ("pause", "--reason", "sec test"),
                 ("resume",), ("sync", "now"), ("help",)):
        r = agent.haesctl(*args, timeout=120)
        outputs.append(r.stdout + r.stderr)
    remote = subprocess.run([str(haesctl_binary()), "--url", f"https://127.0.0.1:{admin_port}",
                             "--ca", str(admin_ca[0]), "--token-file", str(sec / "admin.token"), "status"],
                            capture_output=True, text=True, timeout=30)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    wrong = subprocess.run([str(haesctl_binary()), "--url", f"https://127.0.0.1:{admin_port}",
                            "--ca", str(admin_ca[0]), "--token-file",
                            str(secret_file(sec / "wrong.token", token + "x")), "status"],
                           capture_output=True, text=True, timeout=30)
    assert wrong.returncode != 0
    outputs += [remote.stdout + remote.stderr, wrong.stdout + wrong.stderr]

    # A failover (dc1 red), then back by command.
    dc1.force_red()
    bed.wait_status(lambda s: s["active"] == "dc2", timeout=30, what="failover to dc2")
    dc1.heal()
    bed.wait_status(lambda s: cluster_status(agent, "dc1")["health"] == "green", timeout=30, what="dc1 green")
    r = agent.haesctl("failover", "--to", "dc1", "--reason", "back", timeout=60)
    outputs.append(r.stdout + r.stderr)
    bed.wait_status(lambda s: s["active"] == "dc1", timeout=30, what="dc1 active again")
    for args in (("events", "100"), ("events", "100", "--json"), ("status", "--json")):
        outputs.append(agent.haesctl(*args).stdout)

    # Everything the agent shows, says or writes.
    places = {f"haesctl output {i}": o for i, o in enumerate(outputs)}
    places["/metrics"] = agent.health("/metrics")[1]
    places["argv"] = Path(f"/proc/{agent.proc.popen.pid}/cmdline").read_bytes().decode(errors="replace")
    places["etcd keys"] = "\n".join(kv.key + "=" + kv.value.decode(errors="replace")
                                   for kv in etcd.client().get_prefix("/haes-sec/"))
    for f in agent.workdir.rglob("*"):
        if f.is_file():
            places[str(f)] = f.read_bytes().decode(errors="replace")
    places["agent log"] = agent.proc.log()
    assert "failover" in places["agent log"] and places["etcd keys"]  # the places hold something
    assert any("sync" in e for e in outputs)
    leaks = [(secret, where) for s in (es_pw, api_key, f"{api_id}:{api_key}", etcd_pw, token)
             for secret in forms(s) for where, text in places.items() if secret in text]
    assert not leaks, leaks
    # The credentials were used (not a vacuous pass): a wrong token is refused and logged.
    assert "refused" in places["agent log"] or "denied" in places["agent log"].lower()


def test_a_secret_file_everyone_can_read_is_refused_at_start(procs, tmp_path):
    dc1 = EssimCluster.start(procs, "dc1", nodes=1, repo_root=tmp_path / "repo")
    dc2 = EssimCluster.start(procs, "dc2", nodes=1, repo_root=tmp_path / "repo")
    pw = secret_file(tmp_path / "es.pw", "hunter2-" + secrets.token_hex(4), mode=0o644)
    agent = AgentRun(tmp_path / "agent", {"dc1": nodes_of(dc1), "dc2": nodes_of(dc2)},
                     cluster_extra={"dc1": {"auth": {"username": "haes", "password_file": str(pw)}}})
    agent.start(procs, wait=False)
    assert agent.proc.popen.wait(timeout=10) == 1
    log = agent.proc.log()
    assert (f'clusters[0].auth.password_file: "{pw}" is readable by everyone (mode 0644): '
            "a file holding a secret must give others no access") in log, log
    assert pw.read_text().strip() not in log
    check = subprocess.run([str(agent_binary()), "--check-config", str(agent.config_path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 1 and "mode 0644" in check.stdout + check.stderr
    pw.chmod(0o640)  # group-readable is allowed (a root:haes file, a Kubernetes Secret 0440)
    check = subprocess.run([str(agent_binary()), "--check-config", str(agent.config_path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


# ---- TLS: verification on by default, wrong CA or name refused ------------------

def test_elasticsearch_tls_verifies_by_default_and_refuses_a_wrong_name(procs, tmp_path):
    pki = tmp_path / "pki"
    ca = make_ca(pki, "es")
    node = make_cert(pki, "node", ca, ips=(), dns=("es.dc.example",))  # a name, not 127.0.0.1
    repo = tmp_path / "repo"
    tls = dict(tls_cert=node[0], tls_key=node[1])
    named = EssimCluster.start(procs, "named", nodes=1, repo_root=repo, **tls)
    default = EssimCluster.start(procs, "default", nodes=1, repo_root=repo, **tls)
    wrongname = EssimCluster.start(procs, "wrongname", nodes=1, repo_root=repo, **tls)
    clusters = {c.name: nodes_of(c) for c in (named, default, wrongname)}
    agent = AgentRun(tmp_path / "agent", clusters, preferred="named", schemes={c: "https" for c in clusters},
                     cluster_extra={
                         "named": {"tls": {"ca_file": str(ca[0]), "server_name": "es.dc.example"}},
                         "default": {},  # no tls section at all: the system's CAs, verification on
                         "wrongname": {"tls": {"ca_file": str(ca[0])}},  # the URL's 127.0.0.1 is not in the cert
                     })
    agent.start(procs)
    wait_for(lambda: cluster_status(agent, "named")["health"] == "green", 20, what="named green")
    for name in ("default", "wrongname"):
        wait_for(lambda n=name: cluster_status(agent, n)["health"] == "unreachable", 20, what=f"{name} refused")
        node_status = cluster_status(agent, name)["nodes"][0]
        assert node_status["failure"] == "tls", node_status
    # The reason names the cause in OpenSSL's words, and for a name what to do.
    reason = cluster_status(agent, "default")["nodes"][0]["reason"]
    assert "certificate verify failed (unable to get local issuer certificate)" in reason, reason
    reason = cluster_status(agent, "wrongname")["nodes"][0]["reason"]
    assert ("certificate verify failed (IP address mismatch: the certificate does not name 127.0.0.1; "
            "see tls.server_name)") in reason, reason


@pytest.mark.parametrize("wrong", ["ca", "name"])
def test_etcd_tls_refuses_a_wrong_ca_or_name_with_a_clear_error(procs, tmp_path, wrong):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", members=1, tls=True)
    other = make_ca(tmp_path / "pki", "other")
    dc1 = EssimCluster.start(procs, "dc1", nodes=1, repo_root=tmp_path / "repo")
    dc2 = EssimCluster.start(procs, "dc2", nodes=1, repo_root=tmp_path / "repo")
    tls = {"ca_file": str(other[0] if wrong == "ca" else etcd.tls.ca),
           "cert_file": str(etcd.tls.clients["haes"][0]), "key_file": str(etcd.tls.clients["haes"][1])}
    if wrong == "name":
        tls["server_name"] = "etcd.example"  # the member's certificate names 127.0.0.1 and localhost
    agent = AgentRun(tmp_path / "agent", {"dc1": nodes_of(dc1), "dc2": nodes_of(dc2)}, extra={
        "state": {"store": "etcd", "etcd": {"endpoints": etcd.endpoints, "prefix": "/haes-tls/", "tls": tls}}})
    agent.start(procs, wait=False)

    def said():
        log = agent.proc.log()
        return "TLS handshake with" in log and log
    log = wait_for(said, 20, what="the agent's TLS error towards etcd")
    line = next(ln for ln in log.splitlines() if "TLS handshake with" in ln)
    assert "etcd: reading the shared state failed" in line and "certificate verify failed" in line, line
    why = {"ca": "(unable to get local issuer certificate)",
           "name": "(hostname mismatch: the certificate does not name etcd.example; see tls.server_name)"}[wrong]
    assert why in line, line
    # Nothing reached etcd from this agent.
    assert etcd.client().get_prefix("/haes-tls/") == []


# ---- the admin socket ---------------------------------------------------------

def run_as_nobody(agent: AgentRun, *args: str) -> subprocess.CompletedProcess:
    """haesctl as `nobody`. The directories down to the socket are made
    searchable (0711: no listing) for the call, so that only the socket's own
    mode and the agent's check decide; pytest's are 0700."""
    dirs, d = [], agent.admin_socket.parent
    while d != d.parent and d != Path("/tmp"):
        dirs.append((d, d.stat().st_mode & 0o7777))
        d = d.parent
    try:
        for d, mode in dirs:
            d.chmod(mode | 0o711)
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               str(haesctl_binary()), "--socket", str(agent.admin_socket), *args],
                              capture_output=True, text=True, timeout=30)
    finally:
        for d, mode in dirs:
            d.chmod(mode)


def test_the_admin_socket_keeps_out_whom_its_mode_does_not_let_in(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    sock = bed.agent.admin_socket
    assert (os.stat(sock).st_mode & 0o777) == 0o600 and os.stat(sock).st_uid == os.geteuid()
    r = run_as_nobody(bed.agent, "pause", "--reason", "not allowed")
    assert r.returncode != 0, r.stdout + r.stderr
    assert "Permission denied" in r.stderr or "permission" in r.stderr.lower(), r.stderr
    assert str(sock) in r.stderr, r.stderr
    assert bed.status()["paused"] is False


def test_the_peer_credentials_keep_admin_mode_even_when_the_socket_is_chmod_by_hand(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)  # admin.mode 0600
    sock = bed.agent.admin_socket
    before = bed.metric("haes_connections_refused_total", port="admin")
    os.chmod(sock, 0o666)  # the kernel now lets anyone connect(); the agent's check does not
    r = run_as_nobody(bed.agent, "pause", "--reason", "chmod by hand")
    assert r.returncode != 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert out.startswith("error: uid 65534 (nobody) may not use the admin socket") and "admin.mode 0600" in out, out
    assert bed.status()["paused"] is False
    assert bed.metric("haes_connections_refused_total", port="admin") == before + 1
    assert "may not use the admin socket" in bed.agent.proc.log()


def test_the_journal_names_who_ran_a_command_from_the_peer_credentials(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra={"admin": {"mode": "0666"}})
    sock = bed.agent.admin_socket
    assert (os.stat(sock).st_mode & 0o777) == 0o666
    r = run_as_nobody(bed.agent, "pause", "--reason", "nobody was here")
    assert r.returncode == 0, r.stdout + r.stderr
    ev = [e for e in bed.events() if "nobody was here" in json.dumps(e)]
    assert ev and "nobody" in json.dumps(ev[-1]), ev
    assert "root" not in json.dumps(ev[-1].get("actor", "")), ev
