"""The harness around real haes agents: two agents, each in its own network
namespace with its own local store, behind the lab's bridge; essim on the
host exposed to them; HAProxy in front of agent a. Agent b alone loses its
path to dc1 (a DROP rule in its namespace) and fails over to dc2 while
agent a keeps dc1: the split brain the shared etcd store must prevent. The
samplers and the checker must catch it, naming both agents."""

from __future__ import annotations

from haestest.agent import AgentRun
from haestest.essim import EssimCluster
from haestest.haproxy import HAProxy
from haestest.history import Sampler, check_exclusive
from haestest.proc import wait_for

FAST = {"failover": {"interval": "200ms", "timeout": "150ms", "fail_threshold": 2, "hold_down": "0s"}}


def test_two_agents_with_local_stores_split_and_the_checker_catches_it(procs, netlab, tmp_path):
    repo = tmp_path / "repo"
    dc1 = EssimCluster.start(procs, "dc1", nodes=1, repo_root=repo, workdir=tmp_path / "dc1")
    dc2 = EssimCluster.start(procs, "dc2", nodes=1, repo_root=repo, workdir=tmp_path / "dc2")
    for c in (dc1, dc2):
        netlab.expose(c.port(c.node_names[0]))
    # es1 and es2 (the HAProxy servers) are both the one essim node.
    clusters = {c.name: {"es1": c.port(c.node_names[0]), "es2": c.port(c.node_names[0])} for c in (dc1, dc2)}
    runs = {}
    for label in ("a", "b"):
        ns = netlab.add(f"agent-{label}")
        run = AgentRun(tmp_path / f"agent-{label}", clusters, host=ns.ip, node_host=netlab.host_ip,
                       launcher=ns.launcher, extra=FAST)
        run.start(procs)
        runs[label] = (ns, run)
    (_, a), (ns_b, b) = runs["a"], runs["b"]
    hap = HAProxy.start(procs, tmp_path / "haproxy", spoe_port=a.spoe_port, health_port=a.health_port,
                        nodes={c.name: [c.port(c.node_names[0])] * 2 for c in (dc1, dc2)},
                        extra_env={"HAES_SPOE_ADDR": f"{a.host}:{a.spoe_port}", "HAES_HEALTH_HOST": a.host})

    sampler = Sampler(interval=0.03)
    sampler.health("a", a.host, a.health_port, ["dc1", "dc2"]).health("b", b.host, b.health_port, ["dc1", "dc2"])
    sampler.haproxy("haproxy-a", hap.url + "/")
    sampler.start(procs)
    h = sampler.history
    wait_for(lambda: all(h.answering(x, "dc1") for x in ("a", "b", "haproxy-a")), 20,
             what="both agents and HAProxy positive for dc1")

    h.mark("agent b loses its path to dc1")
    ns_b.block(netlab.host_ip, dc1.port(dc1.node_names[0]))
    cut = h.samples()[-1].t_end
    wait_for(lambda: h.answering("b", "dc2", since=cut), 15, what="b failing over to dc2")
    split = h.last("b", "dc2").t_start

    def answers_since(agent, cluster):
        return sum(1 for s in h.samples(agent, cluster) if s.positive and s.t_start > split)
    wait_for(lambda: min(answers_since("a", "dc1"), answers_since("b", "dc2"), answers_since("haproxy-a", "dc1")) >= 3,
             5, what="three answers each in the split state")
    verdict = check_exclusive(sampler.stop(), tolerance=0.0)

    assert not verdict.ok, verdict.summary()
    pairs = {frozenset({(c.a.agent, c.a.cluster), (c.b.agent, c.b.cluster)}) for c in verdict.worst}
    assert pairs == {frozenset({("a", "dc1"), ("b", "dc2")}), frozenset({("haproxy-a", "dc1"), ("b", "dc2")})}, \
        verdict.summary()
    b_span = next(sp for sp in (verdict.worst[0].a, verdict.worst[0].b) if sp.agent == "b")
    assert b_span.count >= 3 and b_span.first.detail.startswith("200 OK dc2"), verdict.summary()
    assert verdict.worst_overlap >= 0.05, verdict.summary()
    # HAProxy, driven by agent a over SPOE, kept routing to dc1 and said so (a probe
    # may time out on a loaded machine: that is no answer, not another cluster).
    routed = [s for s in h.samples("haproxy-a") if s.positive is not None]
    assert routed and all(s.cluster == "dc1" and s.positive for s in routed), \
        [s for s in routed if s.cluster != "dc1" or not s.positive][:5]
    assert a.health("/lb/dc1")[0] == 200 and b.health("/lb/dc2")[0] == 200
