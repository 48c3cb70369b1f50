"""haproxy -c validates every file in haproxy-conf/ with the installed HAProxy.

The shipped files are checked exactly as shipped (only the environment
variables they document are set), and a deliberately broken copy must be
refused, so this test cannot pass by checking nothing.
"""

import pytest

from haestest.haproxy import conf_dir, haproxy_check, haproxy_version


def base_env(tmp_path):
    return {
        "HAES_SPOE_CONF": str(conf_dir() / "haes-spoe.conf"),
        "HAES_HAPROXY_STATS_SOCKET": str(tmp_path / "stats.sock"),
    }


def test_shipped_configuration_is_valid(tmp_path):
    code, out = haproxy_check(base_env(tmp_path))
    assert code == 0, out
    # 2.6 warns when an SPOE engine lacks one of its three timeouts; the
    # version-conditional block must keep them for 2.6.
    assert "WARNING" not in out.upper(), out


def test_defaults_alone_are_valid(tmp_path):
    """Every ${VAR-default} in the files has a usable default."""
    code, out = haproxy_check({"HAES_SPOE_CONF": str(conf_dir() / "haes-spoe.conf"),
                               "HAES_HAPROXY_STATS_SOCKET": str(tmp_path / "s.sock")})
    assert code == 0, out


def test_a_broken_spoe_file_is_refused(tmp_path):
    broken = tmp_path / "haes-spoe.conf"
    broken.write_text((conf_dir() / "haes-spoe.conf").read_text()
                      .replace("use-backend haes_spoe", "use-backend no_such_backend"))
    env = base_env(tmp_path)
    env["HAES_SPOE_CONF"] = str(broken)
    code, out = haproxy_check(env)
    assert code != 0
    assert "no_such_backend" in out


def test_spoe_variables_fit_haproxy_limits():
    """Full names txn.haes.<name> must be at most 63 characters and registered."""
    text = (conf_dir() / "haes-spoe.conf").read_text()
    line = next(l for l in text.splitlines() if l.strip().startswith("register-var-names"))
    names = line.split()[1:]
    for required in ("cluster", "epoch", "allow", "node_active"):
        assert required in names
    for name in names:
        assert len(f"txn.haes.{name}") <= 63


@pytest.mark.skipif(haproxy_version() < (3, 1),
                    reason="HAProxy 3.1+ is not installed (Debian 12 ships 2.6); "
                           "the mode spop / no hello-idle branches are unchecked here")
def test_31_branches_are_valid(tmp_path):
    code, out = haproxy_check(base_env(tmp_path))
    assert code == 0, out
