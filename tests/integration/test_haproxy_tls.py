"""TLS through HAProxy (haproxy-conf/haproxy-tls.cfg), live: essim nodes
serving TLS with certificates from a CA the test makes, the agent probing
them over TLS, HAProxy terminating TLS for clients and speaking verified TLS
to the nodes (traffic and node checks alike). A CA that did not sign the
nodes' certificates, or a name they do not carry, takes the nodes out."""

import http.client
import ssl
import urllib.error
import urllib.request

import pytest

from haestest.agent import AgentRun
from haestest.bed import Bed
from haestest.essim import EssimCluster
from haestest.haproxy import HAProxy, conf_dir, make_ca, make_cert
from haestest.proc import wait_for


class Pki:
    def __init__(self, directory):
        self.ca = make_ca(directory, "es")
        self.other_ca = make_ca(directory, "other")
        self.node = make_cert(directory, "node", self.ca, dns="localhost")
        self.frontend = make_cert(directory, "frontend", self.ca, dns="localhost")

    def client(self, ca=None) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str((ca or self.ca)[0]))


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def start_bed(procs, tmp_path, pki) -> Bed:
    repo = tmp_path / "repo"
    tls = dict(tls_cert=pki.node[0], tls_key=pki.node[1])
    dc1 = EssimCluster.start(procs, "dc1", nodes=2, repo_root=repo, workdir=tmp_path / "essim-dc1", **tls)
    dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=repo, workdir=tmp_path / "essim-dc2", **tls)
    clusters = {c.name: {f"es{i}": c.port(n) for i, n in enumerate(c.node_names, start=1)} for c in (dc1, dc2)}
    agent = AgentRun(tmp_path / "agent", clusters, schemes={"dc1": "https", "dc2": "https"},
                     cluster_extra={c: {"tls": {"ca_file": str(pki.ca[0])}} for c in clusters},
                     extra={"failover": {"hold_down": "5s"}})
    agent.start(procs)
    bed = Bed(procs, tmp_path, dc1, dc2, agent, None)
    bed.wait_status(lambda s: all(c["health"] == "green" for c in s["clusters"]), what="both clusters green over TLS")
    return bed


def start_haproxy(procs, workdir, bed, pki, **env) -> HAProxy:
    tls_env = {"HAES_FRONTEND_CERT": str(pki.frontend[2]),
               "HAES_DC1_CA_FILE": str(pki.ca[0]), "HAES_DC2_CA_FILE": str(pki.ca[0]),
               "HAES_DC1_TLS_NAME": "localhost", "HAES_DC2_TLS_NAME": "localhost",
               "HAES_AGENT_CHECK_PORT": str(bed.agent.agent_check_port), "HAES_AGENT_INTER": "200ms"}
    tls_env.update(env)
    hap = HAProxy.start(procs, workdir, spoe_port=bed.agent.spoe_port, health_port=bed.agent.health_port,
                        nodes={c.name: [c.port(n) for n in c.node_names[:2]] for c in (bed.dc1, bed.dc2)},
                        extra_env=tls_env, cfg=conf_dir() / "haproxy-tls.cfg", scheme="https")
    hap.client_context = pki.client()
    return hap


def row(hap, backend, server):
    return hap.server_stats()[(backend, server)]


def test_tls_on_both_sides_routes_writes_and_fails_over(procs, tmp_path, pki):
    bed = start_bed(procs, tmp_path, pki)
    bed.hap = hap = start_haproxy(procs, tmp_path / "haproxy", bed, pki)
    hap.wait_servers("es_dc1", "UP")
    hap.wait_servers("es_dc2", "DOWN")
    def state(backend):
        r = row(hap, backend, "es1")
        return r["check_status"].lstrip("* "), r["last_agt"]
    # dc1: the TLS check to the node passed, the agent says up.
    wait_for(lambda: state("es_dc1") == ("L7OK", "via agent : up"), 10, what="dc1 checks")
    # dc2: TLS to the node is fine too, but the agent says passive.
    wait_for(lambda: state("es_dc2")[0] == "L7OK" and "passive" in state("es_dc2")[1], 10, what="dc2 checks")
    assert bed.served_by(6) == {"dc1"}
    r = hap.request("PUT", "/orders", {"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    assert r.status == 200 and r.header("X-Haes-Cluster") == "dc1", (r.status, r.body)
    # The index is on dc1 (asked directly, over TLS), written through HAProxy's TLS to the node.
    status, out = bed.dc1.es("GET", "/orders/_count", context=pki.client())
    assert status == 200 and out["count"] == 0, (status, out)

    # Clients must speak TLS, and must trust HAProxy's certificate.
    with pytest.raises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{hap.frontend_port}/", timeout=5).read()
    with pytest.raises(urllib.error.URLError) as e:
        urllib.request.urlopen(hap.url + "/", timeout=5, context=pki.client(pki.other_ca))
    assert "CERTIFICATE_VERIFY_FAILED" in str(e.value)

    bed.dc1.force_red()
    bed.wait_traffic_on("dc2", timeout=20)
    hap.wait_servers("es_dc1", "MAINT")
    hap.wait_servers("es_dc2", "UP")


@pytest.mark.parametrize("wrong,why", [
    ("ca", "SSL handshake failure"),  # signed by a CA HAProxy does not trust
    ("name", "Server presented an SSL certificate different from the configured one"),  # verifyhost
])
def test_a_node_certificate_that_does_not_verify_is_refused(procs, tmp_path, pki, wrong, why):
    bed = start_bed(procs, tmp_path, pki)
    env = ({"HAES_DC1_CA_FILE": str(pki.other_ca[0])} if wrong == "ca"
           else {"HAES_DC1_TLS_NAME": "es.dc1.example"})
    bed.hap = hap = start_haproxy(procs, tmp_path / "haproxy", bed, pki, **env)
    hap.wait_servers("es_dc1", "DOWN")
    for s in ("es1", "es2"):
        # The agent says yes; the node's certificate says no.
        wait_for(lambda: row(hap, "es_dc1", s)["last_agt"] == "via agent : up", 10, what="the agent's up")
        r = row(hap, "es_dc1", s)
        assert r["status"] == "DOWN", r
        # ("* " while a check runs; HAProxy may append a stale errno text)
        assert r["check_status"].lstrip("* ") == "L6RSP" and r["last_chk"].startswith(why), r
    assert bed.served_by(4) == {"503:None"}  # HAProxy's own 503: no server may be used
    assert why in hap.proc.log()  # and says why in its log
