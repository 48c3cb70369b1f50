"""docker/compose.yml and docker/k8s/, checked offline. compose.yml:
`docker-compose config` (no engine needed) parses, interpolates and checks it.
k8s (there is no Kubernetes cluster here): every
document parses and has the fields its kind requires, the Deployment's
references (ConfigMap keys, Secret, PVC, probe ports, volume mounts) resolve,
the agent accepts the ConfigMap's haes.yaml (--check-config, with the
Secret's files in place), and HAProxy accepts the ConfigMap's haproxy.cfg
(haproxy -c) — which is the shipped haproxy-conf/ file, byte for byte — and
every object survives a round trip through the Kubernetes API's object
models (python3-kubernetes). Not checked: the API server's own validation
and admission, and that any of it runs on a cluster (docker/README.md)."""

import copy
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from haestest.agent import agent_binary
from haestest.haproxy import haproxy_check
from haestest.proc import source_dir

K8S = source_dir() / "docker" / "k8s"
COMPOSE = "/usr/bin/docker-compose"


def test_compose_file_validates_offline():
    # No engine needed: docker-compose parses, interpolates and checks the file.
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}

    def config(*args):
        return subprocess.run([COMPOSE, "-f", str(source_dir() / "docker" / "compose.yml"), "config", *args],
                              env=env, capture_output=True, text=True, timeout=60)
    r = config("--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    r = config("--services")
    assert sorted(r.stdout.split()) == ["es-dc1", "es-dc2", "haes", "haproxy"], r.stdout + r.stderr


def documents():
    docs = []
    for f in sorted(K8S.glob("*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            if d is not None:
                docs.append((f.name, d))
    return docs


def by_kind(kind):
    found = [d for _, d in documents() if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


REQUIRED = {
    "ConfigMap": ["data"],
    "Secret": ["type"],
    "PersistentVolumeClaim": ["spec.accessModes", "spec.resources.requests.storage"],
    "Deployment": ["spec.selector.matchLabels", "spec.template.metadata.labels",
                   "spec.template.spec.containers"],
    "Service": ["spec.selector", "spec.ports"],
    "Kustomization": ["resources"],
}
API = {"ConfigMap": "v1", "Secret": "v1", "PersistentVolumeClaim": "v1", "Service": "v1",
       "Deployment": "apps/v1", "Kustomization": "kustomize.config.k8s.io/v1beta1"}


def dig(d, path):
    for part in path.split("."):
        assert isinstance(d, dict) and part in d, f"missing {path}"
        d = d[part]
    return d


def test_every_document_parses_with_its_required_fields():
    docs = documents()
    assert sorted(d["kind"] for _, d in docs) == sorted(API), [d["kind"] for _, d in docs]
    for name, d in docs:
        assert d.get("apiVersion") == API[d["kind"]], (name, d.get("apiVersion"))
        if d["kind"] != "Kustomization":
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", dig(d, "metadata.name")), name
        for path in REQUIRED[d["kind"]]:
            assert dig(d, path), (name, path)
    kust = by_kind("Kustomization")
    assert sorted(kust["resources"]) == sorted(f.name for f in K8S.glob("*.yaml")
                                               if f.name != "kustomization.yaml")


def model_round_trip(doc):
    """The document through the Kubernetes API's own object models (Debian's
    python3-kubernetes, API 1.22): a missing required field raises, an unknown
    or misplaced field is dropped, so the round trip differs."""
    from kubernetes.client import ApiClient
    api = ApiClient()
    obj = api._ApiClient__deserialize(doc, "V1" + doc["kind"])
    return api.sanitize_for_serialization(obj)


def test_every_object_matches_the_kubernetes_api_models():
    for name, d in documents():
        if d["kind"] != "Kustomization":
            assert model_round_trip(d) == d, f"{name}: fields the {d['kind']} model does not know"
    # ... and the check can fail: a misspelt field, a missing required one.
    dep = copy.deepcopy(by_kind("Deployment"))
    c = dep["spec"]["template"]["spec"]["containers"][1]
    c["readinesProbe"] = c.pop("readinessProbe")
    assert model_round_trip(dep) != dep
    del c["name"]
    with pytest.raises(ValueError, match="name"):
        model_round_trip(dep)


def test_the_deployment_references_resolve_and_the_sidecar_is_probed_and_bounded():
    dep, cm, sec, pvc, svc = (by_kind(k) for k in
                              ("Deployment", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service"))
    spec = dep["spec"]["template"]["spec"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    # One agent per local state file.
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    containers = {c["name"]: c for c in spec["containers"]}
    assert set(containers) == {"haproxy", "haes"}
    for c in containers.values():
        assert c["image"]
        for m in c["volumeMounts"]:
            assert m["name"] in volumes, (c["name"], m["name"])
        for key in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][key]), (c["name"], key)
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        ports = {p["name"] for p in c.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe"):
            p = c[probe]
            target = (p.get("httpGet") or p.get("tcpSocket"))["port"]
            assert target in ports, (c["name"], probe, target)
    for v in volumes.values():
        if "configMap" in v:
            assert v["configMap"]["name"] == cm["metadata"]["name"]
            for item in v["configMap"].get("items", []):
                assert item["key"] in cm["data"], item
        if "secret" in v:
            assert v["secret"]["secretName"] == sec["metadata"]["name"]
        if "persistentVolumeClaim" in v:
            assert v["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]

    haes = containers["haes"]
    assert haes["args"] == ["--config", "/etc/haes/haes.yaml"]
    health = {p["name"]: p["containerPort"] for p in haes["ports"]}["health"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert haes[probe]["httpGet"] == {"path": "/", "port": "health"}
    mounts = {m["mountPath"]: m["name"] for m in haes["volumeMounts"]}
    assert volumes[mounts["/var/lib/haes"]].get("persistentVolumeClaim")
    assert volumes[mounts["/etc/haes/secrets"]].get("secret")
    assert haes["securityContext"]["runAsUser"] == 10001   # the image's user (docker/Dockerfile)

    # The agent's config agrees with the Pod: health port, state on the PVC,
    # password files in the Secret.
    cfg = yaml.safe_load(cm["data"]["haes.yaml"])
    assert cfg["health"]["listen"].endswith(f":{health}")
    assert cfg["state"]["path"].startswith("/var/lib/haes/")
    for c in cfg["clusters"]:
        pf = Path(c["auth"]["password_file"])
        assert str(pf.parent) == "/etc/haes/secrets" and pf.name in sec["stringData"], pf
    # HAProxy's environment names every server of the agent's config.
    env = {e["name"]: e["value"] for e in containers["haproxy"]["env"]}
    for c in cfg["clusters"]:
        for i, node in enumerate(c["nodes"], start=1):
            host_port = node["url"].split("://", 1)[1]
            assert env[f"HAES_{c['name'].upper()}_ES{i}"] == host_port, node
    assert env["HAES_SPOE_CONF"].rsplit("/", 1)[0] == \
        {m["name"]: m["mountPath"] for m in containers["haproxy"]["volumeMounts"]}["haproxy-config"]


def test_the_agent_accepts_the_configmap_haes_yaml(tmp_path):
    cm, sec = by_kind("ConfigMap"), by_kind("Secret")
    text = cm["data"]["haes.yaml"]
    # The Secret's files where the Pod mounts them, under tmp_path here.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name, value in sec["stringData"].items():
        (secrets / name).write_text(value + "\n")
        (secrets / name).chmod(0o440)  # the Secret's defaultMode
    local = tmp_path / "haes.yaml"
    local.write_text(text.replace("/etc/haes/secrets/", f"{secrets}/"))
    r = subprocess.run([str(agent_binary()), "--check-config", str(local)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    # ... and the check can fail: a typo in a key is refused.
    local.write_text(text.replace("preferred:", "prefered:"))
    r = subprocess.run([str(agent_binary()), "--check-config", str(local)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "prefered" in r.stdout + r.stderr, r.stdout + r.stderr


def test_the_agent_accepts_the_configmap_etcd_alternative(tmp_path):
    # The commented `store: etcd` lines replace the local store's two lines.
    text = by_kind("ConfigMap")["data"]["haes.yaml"]
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip().startswith("#   store: etcd"))
    block = []
    for l in lines[start:]:
        if not l.lstrip().startswith("#   "):
            break
        block.append(l.replace("#   ", "", 1))
    local = [i for i, l in enumerate(lines) if l.strip().startswith(("store: local", "path: /var/lib/haes/"))]
    assert len(local) == 2 and len(block) >= 3, (local, block)
    lines[local[0]:local[1] + 1] = block
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("dc1.password", "dc2.password", "etcd.password"):
        (secrets / name).write_text("secret\n")
        (secrets / name).chmod(0o440)  # the Secret's defaultMode
    cfg = tmp_path / "haes-etcd.yaml"
    cfg.write_text("\n".join(lines).replace("/etc/haes/secrets/", f"{secrets}/") + "\n")
    assert yaml.safe_load(cfg.read_text())["state"]["store"] == "etcd"

    def check():
        return subprocess.run([str(agent_binary()), "--check-config", str(cfg)], capture_output=True, text=True,
                              timeout=30)

    # health.listen 0.0.0.0 is not an address the other agents can call:
    # refused until the initContainer renders the Pod's own address in.
    r = check()
    assert r.returncode == 1 and "health.advertise_url: needed with state.store: etcd" in r.stdout + r.stderr, \
        r.stdout + r.stderr
    example = next(l for l in lines if l.strip().startswith("#   health: {listen: 0.0.0.0:9500, advertise_url:"))
    rendered = yaml.safe_load(example.strip()[len("#   "):])["health"]
    listen = next(i for i, l in enumerate(lines) if l.strip().startswith("listen: 0.0.0.0:9500"))
    lines.insert(listen + 1, lines[listen][:len(lines[listen]) - len(lines[listen].lstrip())] +
                 f"advertise_url: {rendered['advertise_url']}")
    cfg.write_text("\n".join(lines).replace("/etc/haes/secrets/", f"{secrets}/") + "\n")
    r = check()
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name", ["haproxy.cfg", "haes-spoe.conf"])
def test_the_configmap_carries_the_shipped_haproxy_files(name):
    assert by_kind("ConfigMap")["data"][name] == (source_dir() / "haproxy-conf" / name).read_text()


def test_haproxy_accepts_the_configmap_haproxy_cfg_with_the_pod_environment(tmp_path):
    dep, cm = by_kind("Deployment"), by_kind("ConfigMap")
    haproxy = {c["name"]: c for c in dep["spec"]["template"]["spec"]["containers"]}["haproxy"]
    etc = tmp_path / "haproxy"
    etc.mkdir()
    for key in ("haproxy.cfg", "haes-spoe.conf"):
        (etc / key).write_text(cm["data"][key])
    env = {e["name"]: e["value"] for e in haproxy["env"]}
    mount = {m["name"]: m["mountPath"] for m in haproxy["volumeMounts"]}["haproxy-config"]
    env["HAES_SPOE_CONF"] = env["HAES_SPOE_CONF"].replace(mount, str(etc))
    env["HAES_HAPROXY_STATS_SOCKET"] = str(tmp_path / "stats.sock")
    # The servers' names do not resolve here: HAProxy is told the addresses
    # of the same form (host:port) on loopback.
    for k in list(env):
        if re.fullmatch(r"HAES_DC\d_ES\d", k):
            env[k] = "127.0.0.1:" + env[k].rsplit(":", 1)[1]
    code, out = haproxy_check(env, etc / "haproxy.cfg")
    assert code == 0, out
