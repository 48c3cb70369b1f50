"""A real OpenSSH server (Debian's openssh-server) on 127.0.0.1 and a port
chosen at run time, for the tests of sync.repository.copy over ssh: its own
host key, one client key authorised for the user running the tests (root
here), no password, PAM or DNS, and a known_hosts file holding its host key
so that the client verifies it (StrictHostKeyChecking=yes)."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

from haestest.proc import ProcessGroup, free_port, port_open, wait_for

SSHD = "/usr/sbin/sshd"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)


class Sshd:
    def __init__(self, workdir: Path, port: int):
        self.workdir = workdir
        self.port = port
        self.user = getpass.getuser()
        self.host_key = workdir / "host_key"
        self.client_key = workdir / "client_key"
        self.known_hosts = workdir / "known_hosts"
        self.proc = None

    @classmethod
    def start(cls, procs: ProcessGroup, workdir: Path) -> "Sshd":
        workdir.mkdir(parents=True, exist_ok=True)
        s = cls(workdir, free_port())
        _keygen(s.host_key)
        _keygen(s.client_key)
        authorized = workdir / "authorized_keys"
        authorized.write_text((workdir / "client_key.pub").read_text())
        s.known_hosts.write_text(f"[127.0.0.1]:{s.port} " + (workdir / "host_key.pub").read_text())
        config = workdir / "sshd_config"
        config.write_text("\n".join([
            f"Port {s.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {s.host_key}",
            f"AuthorizedKeysFile {authorized}",
            f"PidFile {workdir / 'sshd.pid'}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "UseDNS no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",  # the test's temporary directories are not owned as sshd wants
            "LogLevel VERBOSE",
        ]) + "\n")
        # sshd refuses to start without its privilege separation directory.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        s.proc = procs.start(f"sshd-{s.port}", [SSHD, "-D", "-e", "-f", str(config)])
        wait_for(lambda: port_open(s.port), 10, what=f"sshd on 127.0.0.1:{s.port}")
        return s

    def ssh_command(self, known_hosts: Path | None = None, port: int | None = None) -> str:
        """The remote shell for rsync -e: this server's key verified. port:
        another port that leads to this server (a FaultProxy in front of
        it); its key is then added to known_hosts under that port too."""
        if port is not None and port != self.port:
            kh = known_hosts or self.known_hosts
            with open(kh, "a") as f:
                f.write(f"[127.0.0.1]:{port} " + (self.workdir / "host_key.pub").read_text())
        return (f"ssh -p {port or self.port} -i {self.client_key} -o BatchMode=yes -o StrictHostKeyChecking=yes "
                f"-o UserKnownHostsFile={known_hosts or self.known_hosts} -o GlobalKnownHostsFile=/dev/null")

    def remote(self, path: Path) -> str:
        return f"{self.user}@127.0.0.1:{path}"
