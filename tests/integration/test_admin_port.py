"""The admin port over TLS (docs/admin.md "The admin port"): the socket's
commands from another host with haesctl --url, authenticated by a client
certificate of the admin CA or by the bearer token; anything else refused
and logged, without the token; the actor journaled."""

from __future__ import annotations

import json
import subprocess

from haestest.agent import haesctl_binary
from haestest.bed import Bed
from haestest.pki import make_ca, make_cert
from haestest.proc import free_port

TOKEN = "s3cr3t-admin-token-7f2c"


def start(procs, tmp_path):
    ca = make_ca(tmp_path / "pki", "admin")
    other_ca = make_ca(tmp_path / "pki", "other")
    server = make_cert(tmp_path / "pki", "agent-admin", ca)
    alice = make_cert(tmp_path / "pki", "ops-alice", ca, server=False, client=True)
    mallory = make_cert(tmp_path / "pki", "mallory", other_ca, server=False, client=True)
    token_file = tmp_path / "admin.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)  # a secret file others can read is refused (docs/security.md)
    port = free_port()
    extra = {"admin": {"port": {"listen": f"127.0.0.1:{port}", "cert_file": str(server[0]),
                                "key_file": str(server[1]), "client_ca_file": str(ca[0]),
                                "token_file": str(token_file)}}}
    bed = Bed.start(procs, tmp_path, haproxy=False, agent_extra=extra)
    return bed, port, ca, other_ca, alice, mallory, token_file


def remote(port, *args, ca=None, cert=None, token_file=None, timeout=30):
    argv = [str(haesctl_binary()), "--url", f"https://127.0.0.1:{port}"]
    if ca:
        argv += ["--ca", str(ca)]
    if cert:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    if token_file:
        argv += ["--token-file", str(token_file)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/bin:/bin"})


def test_haesctl_url_with_the_token_or_a_client_certificate(procs, tmp_path):
    bed, port, ca, other_ca, alice, mallory, token_file = start(procs, tmp_path)
    r = remote(port, "status", ca=ca[0], token_file=token_file)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "# roles" in r.stdout and "active: dc1" in r.stdout
    j = remote(port, "status", "--json", ca=ca[0], cert=alice)
    assert j.returncode == 0, j.stdout + j.stderr
    assert json.loads(j.stdout)["active"] == "dc1"
    # A mutating command from a client certificate: journaled with its CN.
    p = remote(port, "pause", "--reason", "maintenance window", ca=ca[0], cert=alice)
    assert p.returncode == 0, p.stdout + p.stderr
    events = json.loads(bed.agent.haesctl("events", "5", "--json").stdout)["events"]
    assert any(e["kind"] == "pause" and e["actor"] == "operator cn=ops-alice@127.0.0.1" for e in events), events
    # Exit codes as with the socket.
    assert remote(port, "fialover", ca=ca[0], token_file=token_file).returncode == 2
    refused = remote(port, "switchover", "--to", "dc1", ca=ca[0], token_file=token_file)
    assert refused.returncode == 1 and "already active" in refused.stdout


def test_wrong_credentials_are_refused_and_logged_without_the_token(procs, tmp_path):
    bed, port, ca, other_ca, alice, mallory, token_file = start(procs, tmp_path)
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n")
    r = remote(port, "pause", ca=ca[0], token_file=wrong)
    assert r.returncode == 1 and "refused the credentials" in r.stderr, r.stdout + r.stderr
    r = remote(port, "status", ca=ca[0], cert=mallory)
    assert r.returncode == 1, "a certificate of another CA is no credential"
    r = remote(port, "status", ca=ca[0])
    assert r.returncode == 1, "no credential at all"
    # The client refuses a server it cannot verify.
    r = remote(port, "status", ca=other_ca[0], token_file=token_file)
    assert r.returncode == 3 and "tls" in r.stderr.lower(), r.stderr
    log = bed.agent.proc.log()
    assert log.count("admin port: refused a request from 127.0.0.1") >= 3, log[-3000:]
    assert TOKEN not in log and "not-the-token" not in log
    s = json.loads(bed.agent.haesctl("status", "--json").stdout)
    assert s["paused"] is False, "nothing changed"
    assert bed.metric("haes_admin_port_requests_total", result="unauthenticated") >= 3
