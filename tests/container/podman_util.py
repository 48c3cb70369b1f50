"""Helpers of the container tests: root podman, the test images' names, and
cleanup of every container, volume and compose project a test made.

Image names are per build tree (localhost/haes-test:<hash of the build dir>),
so that two checkouts on one machine never overwrite each other's images;
container and volume names are unique per test run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Optional, Sequence

from haestest.proc import build_dir, source_dir

PODMAN = "/usr/bin/podman"
LABEL = "haes.test"


def _tree_hash() -> str:
    return hashlib.sha1(str(build_dir().resolve()).encode()).hexdigest()[:12]


def image_tag(kind: str = "") -> str:
    """localhost/haes-test:<h> (the sidecar), localhost/haes-<kind>-test:<h> (essim, haproxy)."""
    name = f"haes-{kind}-test" if kind else "haes-test"
    return f"localhost/{name}:{_tree_hash()}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def podman(*args: str, check: bool = True, timeout: float = 120,
           env: Optional[dict] = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env or {})
    r = subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} -> exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def require_root() -> None:
    # Not a skip: the suite runs as root (scripts/setup.sh); anything else is a
    # setup error the run must show.
    assert os.geteuid() == 0, "the container tests need root (root podman, scripts/container-setup.sh)"


def container_setup() -> str:
    """scripts/container-setup.sh: packages, podman's config, the base images."""
    require_root()
    r = subprocess.run([str(source_dir() / "scripts" / "container-setup.sh")],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, f"container-setup.sh failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def host_ccache() -> Optional[tuple[Path, str]]:
    """(cache directory, base_dir) of the host's ccache, as the host build used
    them; None when there is none or it is disabled (CCACHE_DISABLE): then the
    image compiles from scratch."""
    if shutil.which("ccache") is None:
        return None

    def get(key: str) -> str:
        return subprocess.run(["ccache", "-k", key], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    if get("disable") == "true":
        return None
    cache = Path(get("cache_dir"))
    cache.mkdir(parents=True, exist_ok=True)
    return cache, get("base_dir")


def image_binaries() -> tuple[str, str]:
    """How the sidecar image gets haes-agent and haesctl in this run, and why:
    ("build", ...) compiles them in the Dockerfile's build stage, ("prebuilt", ...)
    copies the host build's (HAES_BINARIES=prebuilt, docker/README.md).
    HAES_IMAGE_BINARIES=build|prebuilt chooses; by default the build stage runs
    only when the host's ccache can serve its compiles (a clean clone with
    CCACHE_DISABLE, as in CI, would compile from scratch: minutes of CPU)."""
    want = os.environ.get("HAES_IMAGE_BINARIES", "")
    assert want in ("", "build", "prebuilt"), \
        f"HAES_IMAGE_BINARIES={want!r}: expected build or prebuilt"
    if want:
        return want, f"HAES_IMAGE_BINARIES={want}"
    if host_ccache():
        return "build", "compiled in the build stage with the host's ccache"
    return "prebuilt", "the host build's programs (no usable host ccache: a compile would start from scratch)"


def stage_host_binaries(dest: Path) -> Path:
    """The host build's haes-agent and haesctl, stripped like the build
    stage's (install -s), in dest: the build context haes-bin."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in (build_dir() / "agent" / "daemon" / "haes-agent", build_dir() / "agent" / "haesctl" / "haesctl"):
        assert src.is_file(), f"{src} is missing: build it first (scripts/build.sh)"
        out = dest / src.name
        subprocess.run(["strip", "-o", str(out), str(src)], check=True, timeout=120)
        out.chmod(0o755)
    return dest


def build_image(tag: str, dockerfile: str, context: Path, build_args: Optional[dict] = None,
                volumes: Sequence[str] = (), timeout: float = 1500,
                contexts: Optional[dict] = None) -> tuple[float, str]:
    """podman build (Docker format, so HEALTHCHECK is kept; host network for
    apt-get). Returns (seconds, build output). The previous image of this tag
    is removed once the new one replaces it."""
    old = podman("image", "inspect", "--format", "{{.Id}}", tag, check=False).stdout.strip()
    argv = ["build", "--format", "docker", "--network", "host", "--layers",
            "-f", str(source_dir() / dockerfile), "-t", tag]
    for k, v in (build_args or {}).items():
        argv += ["--build-arg", f"{k}={v}"]
    for v in volumes:
        argv += ["--volume", v]
    for k, v in (contexts or {}).items():
        argv += ["--build-context", f"{k}={v}"]
    t0 = time.monotonic()
    r = podman(*argv, str(context), check=False, timeout=timeout)
    seconds = time.monotonic() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"podman build {tag} failed (exit {r.returncode}):\n{out[-6000:]}"
    new = podman("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    if old and old != new:
        podman("rmi", old, check=False)  # still used by a container: kept, no harm
    return seconds, out


class Cleanup:
    """Containers and volumes a test created; removed at close(), logs kept."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.containers: list[str] = []
        self.volumes: list[str] = []

    def container(self, name: str) -> str:
        self.containers.append(name)
        return name

    def volume(self, name: str) -> str:
        self.volumes.append(name)
        return name

    def logs(self) -> str:
        out = []
        for c in self.containers:
            r = podman("logs", c, check=False)
            if r.returncode == 0:
                out.append(f"----- podman logs {c}\n{(r.stdout + r.stderr)[-4000:]}")
        return "\n".join(out)

    def close(self) -> None:
        """Removes them all; safe to call again (ProcessGroup.defer)."""
        for c in self.containers:
            podman("rm", "--force", "--time", "5", c, check=False, timeout=60)
        for v in self.volumes:
            podman("volume", "rm", "--force", v, check=False, timeout=60)
        left = [c for c in self.containers
                if podman("container", "exists", c, check=False).returncode == 0]
        self.containers, self.volumes = left, []
        assert not left, f"containers left behind: {left}"
