"""The agent's Elasticsearch client and HealthMonitor against essim: TLS with
a CA the test generates (and refusal of an unknown one), the insecure switch
and its warning, Basic and ApiKey credentials from files and environment
variables, wrong credentials, ES 7 / OpenSearch answer shapes, and every
essim fault mode typed as the right probe failure."""

import json
import subprocess

import pytest

from haestest.agent import AgentRun
from haestest.bed import Bed
from haestest.essim import EssimCluster
from haestest.proc import wait_for


def make_cert(tmp_path, name="srv"):
    key, cert = tmp_path / f"{name}-key.pem", tmp_path / f"{name}-cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def status(agent):
    r = agent.haesctl("status", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def wait_cluster(agent, name, pred, what):
    box = {}

    def check():
        for c in status(agent)["clusters"]:
            if c["name"] == name and pred(c):
                box["c"] = c
                return True
        return False
    wait_for(check, 15, what=what)
    return box["c"]


def nodes_of(cluster):
    return {f"es{i}": cluster.port(n) for i, n in enumerate(cluster.node_names, start=1)}


def test_tls_and_credentials(procs, tmp_path, monkeypatch):
    cert, key = make_cert(tmp_path)
    other_ca, _ = make_cert(tmp_path, "other")
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"users": {"haes": "s3cret pw"}, "api_keys": {"kid": "kval"}}))
    kw = dict(repo_root=tmp_path / "repo", tls_cert=cert, tls_key=key, users=users)
    good = EssimCluster.start(procs, "good", nodes=1, **kw)
    apikey = EssimCluster.start(procs, "apikey", nodes=1, **kw)
    badca = EssimCluster.start(procs, "badca", nodes=1, **kw)
    insecure = EssimCluster.start(procs, "insecure", nodes=1, **kw)
    badpw = EssimCluster.start(procs, "badpw", nodes=1, **kw)
    pw = tmp_path / "pw"
    pw.write_text("s3cret pw\n")  # the trailing newline is stripped
    pw.chmod(0o600)  # a secret file others can read is refused (docs/security.md)
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    wrong.chmod(0o600)
    clusters = {c.name: nodes_of(c) for c in (good, apikey, badca, insecure, badpw)}
    agent = AgentRun(tmp_path / "agent", clusters, preferred="good",
                     schemes={c: "https" for c in clusters},
                     cluster_extra={
                         "good": {"tls": {"ca_file": str(cert)},
                                  "auth": {"username": "haes", "password_file": str(pw)}},
                         "apikey": {"tls": {"ca_file": str(cert)}, "auth": {"api_key_env": "HAES_TEST_KEY"}},
                         "badca": {"tls": {"ca_file": str(other_ca)},
                                   "auth": {"username": "haes", "password_file": str(pw)}},
                         "insecure": {"tls": {"insecure": True},
                                      "auth": {"username": "haes", "password_file": str(pw)}},
                         "badpw": {"tls": {"ca_file": str(cert)},
                                   "auth": {"username": "haes", "password_file": str(wrong)}},
                     })
    monkeypatch.setenv("HAES_TEST_KEY", "kid:kval")  # id:key, encoded by the agent
    agent.start(procs)
    assert wait_cluster(agent, "good", lambda c: c["health"] == "green", "good green")
    assert wait_cluster(agent, "apikey", lambda c: c["health"] == "green", "apikey green")
    assert wait_cluster(agent, "insecure", lambda c: c["health"] == "green", "insecure green")
    c = wait_cluster(agent, "badca", lambda c: c["health"] == "unreachable", "badca unreachable")
    assert c["nodes"][0]["failure"] == "tls", c
    c = wait_cluster(agent, "badpw", lambda c: c["health"] == "unreachable", "badpw unreachable")
    assert c["nodes"][0]["failure"] == "auth", c
    log = agent.proc.log()
    assert "cluster insecure: tls.insecure is set: certificates are NOT verified" in log
    for secret in ("s3cret", "kval", "nope"):
        assert secret not in log
        assert secret not in agent.haesctl("show", "config").stdout
        assert secret not in agent.haesctl("status").stdout


def test_missing_secret_refuses_to_start_and_names_the_variable(procs, tmp_path):
    dc1 = EssimCluster.start(procs, "dc1", nodes=1, repo_root=tmp_path / "repo")
    dc2 = EssimCluster.start(procs, "dc2", nodes=1, repo_root=tmp_path / "repo")
    agent = AgentRun(tmp_path / "agent", {"dc1": nodes_of(dc1), "dc2": nodes_of(dc2)},
                     cluster_extra={"dc1": {"auth": {"api_key_env": "HAES_TEST_UNSET_VARIABLE"}}})
    agent.start(procs, wait=False)
    assert agent.proc.popen.wait(timeout=10) == 1
    assert "HAES_TEST_UNSET_VARIABLE is not set" in agent.proc.log()


@pytest.mark.parametrize("flavor", ["es7", "opensearch2"])
def test_other_flavors_are_understood(procs, tmp_path, flavor):
    c = EssimCluster.start(procs, "dc1", nodes=2, repo_root=tmp_path / "repo", flavor=flavor)
    c2 = EssimCluster.start(procs, "dc2", nodes=1, repo_root=tmp_path / "repo", flavor=flavor)
    agent = AgentRun(tmp_path / "agent", {"dc1": nodes_of(c), "dc2": nodes_of(c2)})
    agent.start(procs)
    got = wait_cluster(agent, "dc1", lambda c: c["health"] == "green", f"{flavor} green")
    assert all(n["version"] for n in got["nodes"])


def test_fault_modes_are_typed(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False, nodes=3)
    dc2 = bed.dc2
    n1, n2, n3 = dc2.node_names
    dc2.hang_node(n1)
    dc2.break_node(n2, mode="non_json")
    dc2.fail_node(n3, status=500, type="exception", reason="boom")
    c = wait_cluster(bed.agent, "dc2", lambda c: [n["failure"] for n in c["nodes"]] ==
                     ["timeout", "bad_body", "http_error"], "typed failures")
    assert c["health"] == "unreachable"
    assert "HTTP 500 exception: boom" in c["nodes"][2]["reason"]
    dc2.break_node(n2, mode="truncated")
    dc2.break_node(n3, mode="drop")
    wait_cluster(bed.agent, "dc2", lambda c: [n["failure"] for n in c["nodes"]][1:] == ["bad_body", "bad_body"],
                 "truncated and dropped answers")
    dc2.slow_node(n3, ms=2000)  # beyond failover.timeout (800ms)
    wait_cluster(bed.agent, "dc2", lambda c: c["nodes"][2]["failure"] == "timeout", "slow node times out")
    for n in (n1, n2, n3):
        dc2.clear_node(n)
    wait_cluster(bed.agent, "dc2", lambda c: c["health"] == "green", "dc2 green again")
    # The monitor keeps up: a node that never answers (until cleared) does not
    # stop the rounds; each one ends at the probe timeout.
    before = status(bed.agent)["health_round"]
    dc2.hang_node(n1)
    wait_for(lambda: status(bed.agent)["health_round"] - before >= 3, 6, what="three rounds with a hung node")
    c = wait_cluster(bed.agent, "dc2", lambda c: c["nodes"][0]["failure"] == "timeout", "hung node times out")
    assert c["health"] == "green"  # the two other nodes still vote
