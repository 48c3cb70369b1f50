"""Self-tests of haestest.netns (as root): namespaces on a per-test bridge
reach host services and each other; a DROP rule inside cuts one path (the
connect times out) and removing it restores the path; clean-up leaves
nothing, even after a test process that died without cleaning up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from haestest.essim import EssimCluster
from haestest.etcd import EtcdCluster
from haestest.netns import OWNER_DIR, NetLab, _bridges, _namespaces
from haestest.proc import free_port, wait_for


def curl(ns, url: str, max_time: float = 1.0) -> tuple[str, float]:
    """curl from inside ns: (HTTP code or "rc=<curl exit>", seconds)."""
    t0 = time.monotonic()
    r = ns.run(["curl", "-s", "-o", "/dev/null", "-m", str(max_time), "-w", "%{http_code}", url])
    took = time.monotonic() - t0
    return (r.stdout if r.returncode == 0 else f"rc={r.returncode}"), took


def test_a_curl_from_inside_reaches_essim_on_the_host_until_a_drop_rule(procs, netlab, tmp_path):
    dc1 = EssimCluster.start(procs, "dc1", nodes=1, workdir=tmp_path / "dc1")
    port = dc1.port(dc1.node_names[0])
    netlab.expose(port)  # essim listens on 127.0.0.1 only
    a = netlab.add("agent-a")
    url = f"http://{netlab.host_ip}:{port}/_cluster/health"
    assert curl(a, url)[0] == "200"
    assert curl(a, f"http://127.0.0.1:{port}/")[0] == "rc=7", "the namespace's own loopback is not the host's"

    a.block(netlab.host_ip, port)
    code, took = curl(a, url)
    assert code == "rc=28" and took >= 0.9, (code, took, a.iptables_rules())  # 28: timed out, not refused
    assert not a.tcp_reachable(netlab.host_ip, port, timeout=0.3)
    b = netlab.add("agent-b")
    assert curl(b, url)[0] == "200", "a rule in one namespace cut another's path"

    assert a.unblock(netlab.host_ip, port) == 2
    assert curl(a, url)[0] == "200"
    assert "DROP" not in a.iptables_rules()


def test_namespaces_reach_each_other_and_etcd_and_a_block_cuts_one_pair(procs, netlab, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd", members=1, hosts=("127.0.0.1", netlab.host_ip))
    a, b = netlab.add("agent-a"), netlab.add("agent-b")
    etcd_url = etcd.endpoints_on(netlab.host_ip)[0]
    r = a.run(["curl", "-s", "-m", "2", "-X", "POST", "-d", "{}", etcd_url + "/v3/maintenance/status"])
    assert r.returncode == 0 and '"leader"' in r.stdout, (r.returncode, r.stdout, r.stderr)

    port = free_port()
    b.start(procs, "http-in-b", ["/usr/bin/python3", "-m", "http.server", str(port), "--bind", b.ip],
            env={"PYTHONDONTWRITEBYTECODE": "1"})
    wait_for(lambda: a.tcp_reachable(b.ip, port, 0.5), 10, what="b's server seen from a")
    a.block(b.ip)  # everything between a and b
    assert not a.tcp_reachable(b.ip, port, 0.3)
    assert not b.tcp_reachable(a.ip, 22, 0.3) and "rc=28" == curl(b, f"http://{a.ip}:1/", 0.5)[0]
    assert curl(a, etcd_url + "/health", 1)[0] == "200", "blocking b cut a's path to etcd"
    with __import__("socket").create_connection((b.ip, port), timeout=1):
        pass  # the host still reaches b
    a.unblock()
    assert a.tcp_reachable(b.ip, port, 1)
    b.block_inbound(port, source=a.ip)
    assert not a.tcp_reachable(b.ip, port, 0.3)
    b.unblock()
    assert a.tcp_reachable(b.ip, port, 1)


def test_close_stops_processes_inside_and_removes_everything(procs):
    lab = NetLab.create()
    ns = lab.add("x")
    proc = ns.start(procs, "sleeper", ["sleep", "300"])
    wait_for(lambda: str(proc.pid) in subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True,
                                                     text=True).stdout.split(), 5, what="the sleeper inside")
    lab.close()
    assert not proc.alive()
    assert ns.name not in _namespaces() and lab.bridge not in _bridges()
    assert not (OWNER_DIR / str(lab.n)).exists()
    lab.close()  # twice is fine


CHILD = """
import subprocess, sys
sys.path.insert(0, {lib!r})
from haestest.netns import NetLab
lab = NetLab.create()
ns = lab.add("orphan")
p = subprocess.Popen(["ip", "netns", "exec", ns.name, "sleep", "300"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(lab.n, ns.name, p.pid, flush=True)
import os; os._exit(0)  # dies without cleaning up, as a SIGKILLed test would
"""


def test_a_dead_tests_lab_is_swept_by_the_next_one(procs):
    lib = str(Path(__file__).resolve().parents[1] / "lib")
    out = subprocess.run([sys.executable, "-c", CHILD.format(lib=lib)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    n, ns_name, pid = out.stdout.split()
    assert ns_name in _namespaces() and f"haestbr{n}" in _bridges()
    os.kill(int(pid), 0)  # the orphan runs
    lab = NetLab.create(procs)  # sweeps first
    assert ns_name not in _namespaces() and f"haestbr{n}" not in _bridges()
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
             5, what="the orphan killed by the sweep")
    assert not (OWNER_DIR / n).exists() or lab.n == int(n), "the dead test's owner file stayed"
