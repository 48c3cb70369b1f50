"""What ships beside the binaries: the systemd unit is valid (systemd's own
verifier, with the binary paths pointed at the build tree)."""

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
