"""Self-tests of haestest.etcd: a real 3-member etcd cluster on loopback, its
fault helpers, auth and TLS, and the JSON-gateway client."""

from __future__ import annotations

import time

import pytest

from haestest.etcd import Cmp, EtcdClient, EtcdCluster, EtcdError, EtcdUnavailable, LeaseKeeper, Op, watch_keys
from haestest.pki import make_ca, make_cert
from haestest.proc import wait_for

# Faster elections than etcd's defaults (100/1000 ms) where a test waits on one.
FAST = {"heartbeat_ms": 50, "election_ms": 500}


def test_cluster_forms_and_the_client_reads_and_writes(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd")
    assert len(etcd.endpoints) == 3 and all(e.startswith("http://127.0.0.1:") for e in etcd.endpoints)
    c = etcd.client()
    assert sorted(m["name"] for m in c.members()) == ["etcd0", "etcd1", "etcd2"]
    assert etcd.leader() is not None

    rev = c.put("/haes/leader", "agent-a")
    kv = c.get("/haes/leader")
    assert (kv.key, kv.text, kv.mod_revision, kv.version) == ("/haes/leader", "agent-a", rev, 1)
    assert c.get("/haes/missing") is None
    c.put("/haes/roles/dc1", b"\x00\x01binary")
    c.put("/haesx", "outside the prefix")
    assert [k.key for k in c.get_prefix("/haes/")] == ["/haes/leader", "/haes/roles/dc1"]
    assert c.get_prefix("/haes/roles/")[0].value == b"\x00\x01binary"

    # A compare-and-swap as the agents will do it: only from the revision read.
    won = c.txn([Cmp.mod("/haes/leader", "=", rev)], [Op.put("/haes/leader", "agent-b")], [Op.get("/haes/leader")])
    assert won.succeeded and won.responses == [("put", None)]
    lost = c.txn([Cmp.mod("/haes/leader", "=", rev)], [Op.put("/haes/leader", "agent-c")], [Op.get("/haes/leader")])
    assert not lost.succeeded and lost.responses[0][1][0].text == "agent-b"
    created = c.txn([Cmp.version("/haes/new", "=", 0)], [Op.put("/haes/new", "1")])
    assert created.succeeded

    # Another member reads what was written through the first.
    assert etcd.client(2).get("/haes/leader", serializable=False).text == "agent-b"
    assert c.delete("/haes/", prefix=True) == 3
    assert c.get_prefix("/haes/") == [] and c.get("/haesx").text == "outside the prefix"


def test_leases_expire_their_keys_and_a_keeper_holds_them(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", members=1)
    c = etcd.client()
    start = c.revision()
    short = c.lease_grant(1)
    c.put("/haes/short", "x", lease=short)
    assert c.get("/haes/short").lease == short
    ttl, granted, keys = c.lease_ttl(short)
    # etcd raises a TTL below 1.5 election timeouts (1 s here) to that minimum.
    assert granted == 2 and keys == ["/haes/short"] and 0 <= ttl <= 2
    keeper = LeaseKeeper(c, 1)
    c.put("/haes/kept", "y", lease=keeper.id)
    wait_for(lambda: c.get("/haes/short") is None, 20, what="the short lease's key expiring")
    assert c.get("/haes/kept").text == "y", "the keeper did not keep its lease"
    assert keeper.id in c.leases()
    keeper.stop()  # revokes: its key goes at once
    assert c.get("/haes/kept") is None and c.lease_ttl(keeper.id)[0] == -1
    with pytest.raises(EtcdError) as err:
        c.lease_revoke(keeper.id)
    assert "lease not found" in err.value.message
    events = watch_keys(c, "/haes/", start + 1, lambda evs: len(evs) >= 4)
    assert [(e["type"], e["kv"].key) for e in events] == [
        ("PUT", "/haes/short"), ("PUT", "/haes/kept"), ("DELETE", "/haes/short"), ("DELETE", "/haes/kept")]


def test_one_member_down_keeps_the_cluster_and_it_rejoins_with_its_data(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", **FAST)
    c = etcd.client()
    c.put("/haes/before", "1")
    victim = etcd.leader()
    etcd.kill_member(victim)
    # The two others elect a leader and take writes; the client skips the dead endpoint.
    wait_for(lambda: c.put("/haes/during", "2", timeout=1), 15, what="a write with one member down")
    with pytest.raises(EtcdUnavailable):
        etcd.client(victim).get("/haes/before", timeout=1)
    etcd.start_member(victim)
    assert etcd.client(victim).get("/haes/during", serializable=True).text == "2"
    assert etcd.healthy()


def test_quorum_lost_refuses_writes_and_comes_back(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", **FAST)
    c = etcd.client()
    c.put("/haes/k", "before")
    stopped = etcd.lose_quorum()
    assert len(stopped) == 2 and sum(m.alive() for m in etcd.members) == 1
    wait_for(lambda: not etcd.has_quorum(), 10, what="the survivor noticing it lost its leader")
    t0 = time.monotonic()
    with pytest.raises(EtcdError):
        c.put("/haes/k", "during", timeout=1.5)
    assert time.monotonic() - t0 < 5
    # A serializable read still answers from the survivor's copy.
    assert c.get("/haes/k", serializable=True).text == "before"
    etcd.restore_quorum(stopped)
    c.put("/haes/k", "after")
    assert etcd.client(stopped[0]).get("/haes/k").text == "after"


def test_auth_refuses_a_wrong_password_and_keys_outside_the_prefix(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", members=1, auth=True, haes_prefix="/haes/")
    haes = etcd.client(user="haes")
    haes.put("/haes/x", "1")
    assert haes.get("/haes/x").text == "1"
    with pytest.raises(EtcdError) as err:
        haes.put("/other", "1")
    assert err.value.code == 7 and "permission denied" in err.value.message
    with pytest.raises(EtcdError) as err:
        etcd.client(user="haes", password="wrong").get("/haes/x")
    assert "authentication failed" in err.value.message
    with pytest.raises(EtcdError) as err:
        etcd.client(user=None).get("/haes/x")
    assert "user name is empty" in err.value.message
    assert etcd.client().get("/haes/x").text == "1"  # root reads everything
    assert (tmp_path / "etcd" / "haes.password").read_text().strip() == etcd.users["haes"]
    r = etcd.etcdctl("get", "/haes/x", "--print-value-only")
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr


def test_tls_requires_a_client_certificate_of_its_ca(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", tls=True)
    assert all(e.startswith("https://127.0.0.1:") for e in etcd.endpoints)
    c = etcd.client()
    c.put("/haes/tls", "ok")
    assert etcd.client(1).get("/haes/tls").text == "ok"  # peers replicate over TLS
    r = etcd.etcdctl("endpoint", "health")
    assert r.returncode == 0, r.stderr
    with pytest.raises(EtcdUnavailable):
        EtcdClient(etcd.endpoints, ca=etcd.tls.ca).get("/haes/tls")  # no client certificate
    other = make_ca(tmp_path / "other", "other")
    cert, key = make_cert(tmp_path / "other", "intruder", other, cn="haes", server=False, client=True)
    with pytest.raises(EtcdUnavailable):
        EtcdClient(etcd.endpoints, ca=etcd.tls.ca, cert=cert, key=key).get("/haes/tls")
