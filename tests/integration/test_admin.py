"""The admin socket and haesctl against a running agent (two essim
clusters): every command, --json, --dry-run, errors, exit codes, socket
permissions."""

import json
import os
import stat

from haestest.agent import haesctl_binary
from haestest.bed import Bed
import subprocess


def test_admin_socket_commands_and_exit_codes(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    a = bed.agent
    mode = stat.S_IMODE(os.stat(a.admin_socket).st_mode)
    assert mode == 0o600

    h = a.haesctl("help")
    assert h.returncode == 0
    for word in ("status", "events [N]", "failback", "switchover --to CLUSTER", "failover --to CLUSTER",
                 "pause", "resume", "ack", "show config"):
        assert word in h.stdout

    st = a.haesctl("status")
    assert st.returncode == 0
    for section in ("# roles", "# automatic failover", "# clusters", "# store", "# next"):
        assert section in st.stdout
    assert "\n\n" not in st.stdout.rstrip("\n")

    cfg = a.haesctl("show", "config")
    assert cfg.returncode == 0 and "fail_threshold: 3" in cfg.stdout

    # Bad usage: exit 2, and the message names what was wrong.
    for args, needle in ((["fialover"], "unknown command 'fialover'"),
                         (["failover"], "needs --to CLUSTER"),
                         (["failover", "--to", "dc9"], "unknown cluster 'dc9'"),
                         (["pause", "--for", "soon"], "'soon' is not a duration"),
                         (["events", "-3"], "N must be a positive number, got '-3'"),
                         (["events", "--last", "3"], "unknown option '--last'"),
                         (["events", "x"], "N must be a positive number")):
        r = a.haesctl(*args)
        assert r.returncode == 2, (args, r.stdout)
        assert needle in r.stdout, (args, r.stdout)

    # Refusal: exit 1.
    r = a.haesctl("failback")
    assert r.returncode == 1 and "already" in r.stdout

    # --dry-run changes nothing and says what would happen.
    r = a.haesctl("switchover", "--to", "dc2", "--dry-run")
    assert r.returncode == 0 and "dry run" in r.stdout
    assert bed.status()["epoch"] == 1

    # --json everywhere.
    j = json.loads(a.haesctl("switchover", "--to", "dc2", "--json").stdout)
    assert j["ok"] and j["roles_changed"] and j["epoch"] == 2 and j["active"] == "dc2"
    j = json.loads(a.haesctl("fialover", "--json").stdout)
    assert j == {"ok": False, "code": "usage", "error": "unknown command 'fialover'; try 'help'"}
    ev = json.loads(a.haesctl("events", "3", "--json").stdout)["events"]
    assert 1 <= len(ev) <= 3, ev
    # The newest switchover, not the newest event: the readiness of dc1, now
    # passive, may be journaled after it (at the next health round).
    assert [e["epoch"] for e in ev if e["kind"] == "switchover"][-1:] == [2], ev

    r = a.haesctl("ack")
    assert r.returncode == 0 and "hold-down ended" in r.stdout
    assert bed.status()["hold_down_until"] == ""


def test_haesctl_finds_the_socket_and_reports_an_absent_agent(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    env = dict(os.environ, HAES_ADMIN_SOCKET=str(bed.agent.admin_socket))
    r = subprocess.run([str(haesctl_binary()), "status"], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "# roles" in r.stdout
    env.pop("HAES_ADMIN_SOCKET")
    r = subprocess.run([str(haesctl_binary()), "--config", str(bed.agent.config_path), "status"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "# roles" in r.stdout
    r = subprocess.run([str(haesctl_binary()), "--socket", str(tmp_path / "nope.sock"), "status"],
                       capture_output=True, text=True)
    assert r.returncode == 3 and "cannot reach haes-agent" in r.stderr
    r = subprocess.run([str(haesctl_binary())], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


def test_second_agent_on_the_same_state_refuses(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False)
    p = procs.start("second-agent", [str(bed.agent.proc.popen.args[0]), "--config", str(bed.agent.config_path)])
    assert p.popen.wait(timeout=10) == 1
    assert "locked" in p.log() or "in use" in p.log(), p.log()
    assert bed.agent.haesctl("status").returncode == 0  # the first one is untouched


def test_bad_bytes_on_the_admin_socket_get_clear_errors_and_change_nothing(procs, tmp_path):
    import socket
    bed = Bed.start(procs, tmp_path, haproxy=False)

    def send(data: bytes) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(bed.agent.admin_socket))
            s.sendall(data)
            out = b""
            while not out.endswith(b"\n\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            return out.decode("utf-8", "replace")

    assert send(b"x" * 5000) == "error: bad command: request line longer than 4096 bytes\n\n"
    junk = send(b"\x00\xff\xfe garbage \x01\n")
    assert junk.startswith("error: bad command: unknown command") and junk.endswith("\n\n")
    assert send(b'failover --to "dc2\n').startswith("error: bad command: unbalanced double quote")
    # Several commands on one connection, each answered in turn.
    two = send(b"help\nstatus --json\n")
    assert two.endswith("\n\n") and "commands (every command also takes --json)" in two
    s = bed.status()
    assert (s["epoch"], s["active"]) == (1, "dc1")
    assert bed.agent.proc.alive()
