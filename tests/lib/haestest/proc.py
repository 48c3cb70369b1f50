"""Process and timing helpers shared by every Python test.

Contract:
- Every process a test starts goes through a ProcessGroup, which writes its
  stdout/stderr to a log file, and stops it (SIGTERM, then SIGKILL after a grace
  period) when the group closes, including when the test fails.
- Tests wait on conditions with wait_for(), never on fixed sleeps.
- Ports come from free_port(): 127.0.0.1 only, chosen at run time.
- What is not a process (a proxy thread, a network namespace) registers its
  clean-up with ProcessGroup.defer(); close() undoes everything in reverse
  order of creation, so a process is stopped before the namespace it runs in
  is deleted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, Sequence, TypeVar

T = TypeVar("T")

_issued_ports: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    The kernel picks it (bind to port 0); ports already handed out by this
    process are never returned twice, so two servers of one test cannot clash.
    """
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _issued_ports:
            _issued_ports.add(port)
            return port
    raise RuntimeError("free_port: no fresh port after 100 tries")


class WaitTimeout(AssertionError):
    pass


def wait_for(predicate: Callable[[], Optional[T]], timeout: float = 10.0,
             interval: float = 0.02, what: str = "condition") -> T:
    """Polls predicate until it returns a truthy value, and returns that value.

    Exceptions raised by predicate count as "not yet" (a server still starting
    refuses connections); the last one is reported if the wait times out.
    """
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - reported below
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def holds_for(predicate: Callable[[], object], duration: float, interval: float = 0.1,
              what: str = "invariant") -> None:
    """Checks predicate again and again for `duration` seconds and fails at the
    first check it does not hold: for "nothing changes for a while" (no second
    failover, no transition without etcd), where a sleep and one check would
    miss a change that came and went."""
    deadline = time.monotonic() + duration
    checks = 0
    while True:
        value = predicate()
        checks += 1
        if not value:
            raise AssertionError(f"{what} stopped holding after {checks} check(s)")
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Proc:
    """One started process, its log file and its name."""

    def __init__(self, name: str, popen: subprocess.Popen, log_path: Path):
        self.name = name
        self.popen = popen
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, needle: str, timeout: float = 10.0) -> str:
        """Waits until the process's log contains needle; returns the log."""
        return wait_for(lambda: self.log() if needle in self.log() else None,
                        timeout, what=f"{self.name} log line {needle!r}")

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def kill9(self) -> None:
        """SIGKILL to the whole process group, then reaps it."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, grace: float = 5.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after grace seconds; returns the exit status."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=10)
        return self.popen.returncode


class ProcessGroup:
    """Starts processes for one test and stops all of them at close()."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self._counter = 0
        self._undo: list[Callable[[], object]] = []  # clean-ups, run last-in first-out

    def start(self, name: str, argv: Sequence[str], env: Optional[dict] = None,
              cwd: Optional[Path] = None, stdin=subprocess.DEVNULL) -> Proc:
        self._counter += 1
        log_path = self.workdir / f"{self._counter:02d}-{name}.log"
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                [str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                stdin=stdin, env=full_env, cwd=str(cwd) if cwd else None,
                start_new_session=True)  # own process group: killpg reaches children
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        self._undo.append(proc.stop)
        return proc

    def defer(self, cleanup: Callable[[], object]) -> None:
        """Runs cleanup at close(), in reverse order with the processes'
        stops. It must be safe to call twice (close() may be called again)."""
        self._undo.append(cleanup)

    def close(self) -> None:
        """Stops every process and runs every deferred clean-up, newest
        first; one failing clean-up does not prevent the others, and the first
        failure is raised at the end."""
        errors = []
        while self._undo:
            try:
                self._undo.pop()()
            except Exception as exc:  # noqa: BLE001 - raised below, after the rest
                errors.append(exc)
        if errors:
            raise errors[0]

    def dump_logs(self, tail: int = 60) -> str:
        out = []
        for proc in self.procs:
            lines = proc.log().splitlines()[-tail:]
            status = "running" if proc.alive() else f"exit {proc.popen.returncode}"
            out.append(f"----- {proc.name} ({status}), last {len(lines)} lines of {proc.log_path}")
            out.extend(lines)
        return "\n".join(out)

    def __enter__(self) -> "ProcessGroup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def build_dir() -> Path:
    """The CMake build tree (set by ctest; defaults to <source>/build)."""
    env = os.environ.get("HAES_BUILD_DIR")
    if env:
        return Path(env)
    return source_dir() / "build"


def source_dir() -> Path:
    env = os.environ.get("HAES_SOURCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3]
