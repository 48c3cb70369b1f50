"""The sidecar image, built from docker/Dockerfile with root podman (the
ctest fixture the other container tests need). scripts/container-setup.sh
first makes whatever is missing: packages, podman's config, the Debian base
images (debootstrap). The two programs come from the Dockerfile's build stage
when the host build's ccache can serve its compiles, else (a clean clone,
CCACHE_DISABLE, as in CI) from the host build itself (HAES_BINARIES=prebuilt);
HAES_IMAGE_BINARIES=build|prebuilt chooses (docker/README.md). The build's
time, the path taken and its cache hits are printed (ctest's log keeps them)."""

import json
import re

from haestest.proc import build_dir, source_dir
from podman_util import (build_image, container_setup, host_ccache, image_binaries, image_tag, podman,
                         stage_host_binaries)


def test_the_sidecar_image_builds_slim_non_root_with_volume_and_healthcheck(capsys, tmp_path):
    setup = container_setup()
    tag = image_tag()
    how, why = image_binaries()
    args, volumes, contexts = {}, [], {}
    cache = host_ccache() if how == "build" else None
    if how == "build":
        args = {"HAES_SRC": str(source_dir().resolve()), "HAES_BUILD": str(build_dir().resolve())}
        if cache:
            volumes.append(f"{cache[0]}:/ccache")
            args["CCACHE_BASEDIR"] = cache[1]
    else:
        args["HAES_BINARIES"] = "prebuilt"
        contexts["haes-bin"] = stage_host_binaries(tmp_path / "haes-bin")
    seconds, out = build_image(tag, "docker/Dockerfile", source_dir(), args, volumes, contexts=contexts)
    hits = [l.strip() for l in out.splitlines() if re.match(r"^\s*(Hits|Misses)\b", l)]
    size = int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout)
    with capsys.disabled():  # in ctest's log even when the test passes
        print("\n" + setup.rstrip())
        print(f"image {tag}: built in {seconds:.0f} s, {size / 1e6:.0f} MB; binaries: {how}, {why}"
              + (f"; ccache: {hits}" if how == "build" and cache else ""))
    # The build stage ran exactly when asked to.
    assert ("AS build" in out) == (how == "build"), out[-3000:]

    cfg = json.loads(podman("image", "inspect", tag).stdout)[0]["Config"]
    assert cfg["User"] == "10001:10001"
    assert "/var/lib/haes" in cfg["Volumes"]
    hc = json.loads(podman("image", "inspect", tag).stdout)[0]["Healthcheck"]  # top level in podman
    assert hc["Test"][:3] == ["CMD", "haesctl", "--timeout"], hc
    assert cfg["Entrypoint"] == ["haes-agent"] and cfg["Cmd"] == ["--config", "/etc/haes/haes.yaml"]
    assert "HAES_ADMIN_SOCKET=/run/haes/admin.sock" in cfg["Env"]

    def sh(script: str):
        return podman("run", "--rm", "--network", "none", "--entrypoint", "sh", tag, "-c", script,
                      check=False)

    # Only runtime libraries: every library the two programs need is there,
    # and no compiler, CMake or -dev headers came along.
    r = sh("ldd /usr/local/bin/haes-agent /usr/local/bin/haesctl")
    assert r.returncode == 0 and "not found" not in r.stdout, r.stdout + r.stderr
    r = sh("for p in g++ c++ cc cmake make protoc; do command -v $p; done;"
           " ls -d /usr/include/boost /usr/include/google 2>/dev/null; true")
    assert r.stdout.strip() == "", f"build tools in the runtime image: {r.stdout}"
    r = sh("id -u; id -g; stat -c '%u:%g %a' /var/lib/haes /run/haes")
    assert r.stdout.split() == ["10001", "10001", "10001:10001", "750", "10001:10001", "750"], r.stdout
    # The baked-in example configuration is valid.
    r = podman("run", "--rm", "--network", "none", tag, "--check-config", "/etc/haes/haes.yaml",
               check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert size < 150e6, f"runtime image is {size / 1e6:.0f} MB"
