"""The sidecar image (built by container.image) run with root podman and
--network=host beside HAProxy (the shipped haproxy.cfg) and two essim
clusters on the host: HAProxy routes by the containerised agent's verdicts,
`podman exec ... haesctl status` answers, a red dc1 fails over, and a new
container on the same volume keeps the epoch and the roles."""

import os
import urllib.error
import urllib.request

import pytest

from haestest.agent import to_yaml
from haestest.bed import Bed
from haestest.essim import EssimCluster
from haestest.haproxy import HAProxy
from haestest.proc import free_port, port_open, wait_for
from podman_util import LABEL, Cleanup, image_tag, podman, require_root, unique


class ContainerAgent:
    """What Bed needs of an agent (haesctl, health), for the agent in a container."""

    def __init__(self, name: str, health_port: int):
        self.name, self.health_port = name, health_port

    def haesctl(self, *args: str, timeout: float = 30):
        return podman("exec", self.name, "haesctl", *args, check=False, timeout=timeout)

    def health(self, path: str):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


@pytest.fixture
def cleanup(request, tmp_path, procs):
    """Containers and volumes, removed when the test's ProcessGroup closes
    (procs.defer); their logs printed first when the test failed."""
    c = Cleanup(tmp_path)
    procs.defer(c.close)
    yield c
    if any(getattr(request.node, "rep_" + w, None) is not None
           and getattr(request.node, "rep_" + w).failed for w in ("setup", "call")):
        print(c.logs())


def test_sidecar_container_routes_fails_over_and_keeps_its_state_on_the_volume(procs, tmp_path, cleanup):
    require_root()
    tag = image_tag()
    assert podman("image", "exists", tag, check=False).returncode == 0, \
        f"{tag} missing: container.image builds it"
    repo = tmp_path / "repo"
    dc1 = EssimCluster.start(procs, "dc1", nodes=2, repo_root=repo, workdir=tmp_path / "essim-dc1")
    dc2 = EssimCluster.start(procs, "dc2", nodes=2, repo_root=repo, workdir=tmp_path / "essim-dc2")
    spoe_port, health_port = free_port(), free_port()

    # The agent's configuration, generated with this run's ports, mounted read-only.
    etc = tmp_path / "etc-haes"
    etc.mkdir()
    os.chmod(etc, 0o755)
    (etc / "haes.yaml").write_text(to_yaml({
        "spoe": {"listen": f"127.0.0.1:{spoe_port}", "threads": 2},
        "health": {"listen": f"127.0.0.1:{health_port}"},
        "clusters": [{"name": c.name,
                      "nodes": [{"name": f"es{i}", "url": f"http://127.0.0.1:{c.port(n)}"}
                                for i, n in enumerate(c.node_names, start=1)]}
                     for c in (dc1, dc2)],
        "preferred": "dc1",
        "failover": {"hold_down": "5s"},
    }) + "\n")
    os.chmod(etc / "haes.yaml", 0o644)
    volume = cleanup.volume(unique("haes-test-state"))
    podman("volume", "create", "--label", LABEL, volume)

    def run_agent(vol: str) -> ContainerAgent:
        name = cleanup.container(unique("haes-test-sidecar"))
        podman("run", "-d", "--name", name, "--label", LABEL, "--network", "host",
               "-v", f"{etc}:/etc/haes:ro", "-v", f"{vol}:/var/lib/haes", tag)

        def up():
            state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            assert state == "running", f"container {name} is {state}: {podman('logs', name, check=False).stderr[-3000:]}"
            return port_open(spoe_port) and port_open(health_port)
        wait_for(up, 30, what="the agent in its container")
        return ContainerAgent(name, health_port)

    def stop_agent(agent: ContainerAgent) -> None:
        podman("stop", "--time", "10", agent.name)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", agent.name).stdout.strip()
        assert code == "0", f"agent exit code {code} on SIGTERM"
        podman("rm", agent.name)
        wait_for(lambda: not port_open(spoe_port), 10, what="the SPOP port closed")

    agent = run_agent(volume)
    bed = Bed(procs, tmp_path, dc1, dc2, agent, None)
    bed.wait_status(lambda s: s["health_round"] >= 1, what="a first health round")
    bed.hap = HAProxy.start(procs, tmp_path / "haproxy", spoe_port=spoe_port, health_port=health_port,
                            nodes={c.name: [c.port(n) for n in c.node_names] for c in (dc1, dc2)})

    # Traffic follows the agent's verdicts.
    bed.hap.wait_servers("es_dc1", "UP")
    bed.hap.wait_servers("es_dc2", "DOWN")
    assert bed.served_by(5) == {"dc1"}
    r = agent.haesctl("status")  # the human form, as an operator runs it
    assert r.returncode == 0 and "dc1" in r.stdout, r.stdout + r.stderr
    s = bed.status()
    assert (s["epoch"], s["active"]) == (1, "dc1")
    # The image's HEALTHCHECK passes.
    r = podman("healthcheck", "run", agent.name, check=False)
    assert r.returncode == 0, r.stdout + r.stderr

    # dc1 red: the agent in the container fails over, HAProxy follows.
    dc1.force_red()
    bed.wait_traffic_on("dc2", timeout=15)
    s = bed.status()
    assert (s["epoch"], s["active"], s["fenced"]) == (2, "dc2", ["dc1"])
    assert [e["kind"] for e in bed.events()].count("failover") == 1

    # dc1 healthy again (a fresh agent would make it active: it is preferred).
    dc1.heal()
    bed.wait_status(lambda s: s["clusters"][0]["health"] == "green", what="dc1 green again")

    # Remove the container; a new one on the same volume keeps the state.
    stop_agent(agent)
    agent = run_agent(volume)
    bed.agent = agent
    s = bed.wait_status(lambda s: s["health_round"] >= 1, what="a first round of the new container")
    assert (s["epoch"], s["active"], s["fenced"]) == (2, "dc2", ["dc1"]), s
    bed.hap.wait_servers("es_dc2", "UP")
    # HAProxy checks the SPOE agent every second (rise 1): until that check
    # sees the new container, requests get 503 agent-unreachable.
    bed.hap.wait_servers("haes_spoe", "UP")
    assert bed.served_by(5) == {"dc2"}
    assert [e["kind"] for e in bed.events()].count("failover") == 1  # the journal too

    # Control: the same image on a new volume starts over from `preferred`,
    # so the state above came from the volume.
    stop_agent(agent)
    fresh = cleanup.volume(unique("haes-test-state"))
    podman("volume", "create", "--label", LABEL, fresh)
    agent = run_agent(fresh)
    bed.agent = agent
    s = bed.wait_status(lambda s: s["health_round"] >= 1, what="a first round on a new volume")
    assert (s["epoch"], s["active"]) == (1, "dc1"), s
