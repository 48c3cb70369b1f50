"""What ships beside the binaries: the systemd unit is valid (systemd's own
verifier, with the binary paths pointed at the build tree)."""

import re
import shutil
import subprocess

import pytest

from haestest.agent import agent_binary
from haestest.proc import source_dir


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_verifies(tmp_path):
    unit = (source_dir() / "scripts" / "systemd" / "haes-agent.service").read_text()
    assert "ExecStart=/usr/local/bin/haes-agent --config /etc/haes/haes.yaml" in unit
    local = tmp_path / "haes-agent.service"
    local.write_text(unit.replace("/usr/local/bin/haes-agent", str(agent_binary())))
    r = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    problems = [l for l in (r.stdout + r.stderr).splitlines() if "haes-agent.service" in l]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr


def unit_directives() -> dict[str, list[str]]:
    """The [Service] section of the unit: key -> every value given, in order."""
    out: dict[str, list[str]] = {}
    section = None
    for line in (source_dir() / "scripts" / "systemd" / "haes-agent.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


# Each directive of the security baseline (docs/security.md) and the value it must have.
HARDENING = {
    "User": "haes", "Group": "haes", "UMask": "0077",
    "NoNewPrivileges": "true", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/haes /run/haes",
    "ProtectHome": "true", "PrivateTmp": "true", "PrivateDevices": "true", "PrivateMounts": "true",
    "ProtectHostname": "true", "ProtectClock": "true", "ProtectKernelTunables": "true",
    "ProtectKernelModules": "true", "ProtectKernelLogs": "true", "ProtectControlGroups": "true",
    "ProtectProc": "invisible", "ProcSubset": "pid",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "RestrictNamespaces": "true",
    "RestrictRealtime": "true", "RestrictSUIDSGID": "true", "LockPersonality": "true",
    "MemoryDenyWriteExecute": "true", "RemoveIPC": "true", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
    "SystemCallArchitectures": "native", "DevicePolicy": "closed",
    "StateDirectory": "haes", "RuntimeDirectory": "haes", "RuntimeDirectoryMode": "0750",
}


def test_systemd_unit_is_hardened():
    d = unit_directives()
    wrong = {k: (d.get(k), v) for k, v in HARDENING.items() if d.get(k) != [v]}
    assert not wrong, f"directive: (found, expected) {wrong}"
    assert d["SystemCallFilter"] == ["@system-service", "~@privileged @resources"], d["SystemCallFilter"]
    # Writable: the state and socket directories only (StateDirectory= and RuntimeDirectory=).
    assert "ReadOnlyPaths" not in d and "InaccessiblePaths" not in d
    assert "PrivateUsers" not in d  # SO_PEERCRED must see the operators' real uids (docs/security.md)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_security_scores_the_unit_ok(tmp_path):
    # --offline: the unit file alone, no running systemd needed. docs/security.md records the score.
    local = tmp_path / "haes-agent.service"
    local.write_text((source_dir() / "scripts" / "systemd" / "haes-agent.service").read_text())
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20", str(local)],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for haes-agent.service: ([0-9.]+) (\w+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 1.5 and m.group(2) == "OK", m.group(0)
