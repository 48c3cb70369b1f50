"""docker/compose.yml, brought up by Debian's docker-compose 1.29 against
podman's Docker API (`podman system service`): HAProxy with the haes sidecar
in its network namespace, two essim clusters, all containers. One request
through HAProxy, `haesctl status` in the sidecar, one failover; then
everything is torn down (a unique project name per run, torn down on failure
too). The sidecar image comes from container.image; the essim and HAProxy
images are built here (docker/essim/, docker/haproxy/)."""

import json
import os
import subprocess
import urllib.error
import urllib.request

from haestest.essim import http
from haestest.proc import free_port, source_dir, wait_for
from podman_util import build_image, image_tag, podman, require_root, unique

COMPOSE = "/usr/bin/docker-compose"


def compose_file():
    return str(source_dir() / "docker" / "compose.yml")


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_compose_pair_serves_a_request_and_fails_over(procs, tmp_path, capsys):
    require_root()
    haes_tag = image_tag()
    assert podman("image", "exists", haes_tag, check=False).returncode == 0, \
        f"{haes_tag} missing: container.image builds it"
    for kind, dockerfile, context in (("essim", "docker/essim/Dockerfile", source_dir()),
                                      ("haproxy", "docker/haproxy/Dockerfile", source_dir() / "docker" / "haproxy")):
        seconds, _ = build_image(image_tag(kind), dockerfile, context, timeout=900)
        with capsys.disabled():
            print(f"\nimage {image_tag(kind)} built in {seconds:.0f} s")

    sock = tmp_path / "podman.sock"
    procs.start("podman-service", ["/usr/bin/podman", "system", "service", "--time=0", f"unix://{sock}"])
    wait_for(lambda: sock.exists(), 30, what="podman's API socket")
    http_port, c1, c2 = free_port(), free_port(), free_port()
    project = unique("haestest")
    env = dict(os.environ)
    env.update({
        "DOCKER_HOST": f"unix://{sock}",
        "HAES_IMAGE": haes_tag,
        "HAES_ESSIM_IMAGE": image_tag("essim"),
        "HAES_HAPROXY_IMAGE": image_tag("haproxy"),
        "HAES_HTTP_PORT": str(http_port),
        "HAES_DC1_CONTROL_PORT": str(c1),
        "HAES_DC2_CONTROL_PORT": str(c2),
    })

    def compose(*args: str, timeout: float = 180, check: bool = True):
        r = subprocess.run([COMPOSE, "-p", project, "-f", compose_file(), *args], env=env,
                           capture_output=True, text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, f"docker-compose {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    try:
        compose("up", "-d", "--no-build")
        front = f"http://127.0.0.1:{http_port}/"

        def served_by():
            status, headers, body = get(front)
            return json.loads(body)["cluster_name"] if status == 200 else f"{status}:{headers.get('X-Haes-Reason')}"
        wait_for(lambda: served_by() == "dc1", 60, interval=0.2, what="a request through HAProxy answered by dc1")

        r = compose("exec", "-T", "haes", "haesctl", "status", "--json")
        s = json.loads(r.stdout)
        assert (s["epoch"], s["active"]) == (1, "dc1"), s

        status, out = http("POST", f"http://127.0.0.1:{c1}/cluster/red", {})
        assert status == 200, out
        wait_for(lambda: served_by() == "dc2", 30, interval=0.2, what="traffic on dc2 after dc1 turned red")
        s = json.loads(compose("exec", "-T", "haes", "haesctl", "status", "--json").stdout)
        assert (s["epoch"], s["active"], s["fenced"]) == (2, "dc2", ["dc1"]), s
    except BaseException:
        print(compose("logs", "--no-color", "--tail", "60", check=False, timeout=60).stdout)
        raise
    finally:
        down = compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False, timeout=180)
        left = podman("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                      "--format", "{{.Names}}", check=False).stdout.split()
        for name in left:
            podman("rm", "--force", name, check=False)
        vols = podman("volume", "ls", "--filter", f"label=com.docker.compose.project={project}",
                      "--format", "{{.Name}}", check=False).stdout.split()
        for v in vols:
            podman("volume", "rm", "--force", v, check=False)
        podman("network", "rm", "--force", f"{project}_default", check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not left and not vols, f"left behind by docker-compose down: {left} {vols}"
