"""Every shipped HAProxy configuration variant (haproxy-conf/haproxy-*.cfg)
passes `haproxy -c` with the installed HAProxy, without warnings, and keeps
the safety rules of haproxy.cfg word for word: the SPOE filter, the
fail-closed returns, the routing by the agent's verdict. A variant may only
change how servers are checked and reached (docs/haproxy.md)."""

import re

import pytest

from haestest.haproxy import conf_dir, haproxy_check, make_ca, make_cert

VARIANTS = sorted(p.name for p in conf_dir().glob("haproxy-*.cfg"))


def env(tmp_path, name="haproxy.cfg"):
    e = {"HAES_SPOE_CONF": str(conf_dir() / "haes-spoe.conf"),
         "HAES_HAPROXY_STATS_SOCKET": str(tmp_path / "stats.sock")}
    if name == "haproxy-tls.cfg":  # its certificate files must exist to be parsed
        ca = make_ca(tmp_path, "es")
        e["HAES_DC1_CA_FILE"] = e["HAES_DC2_CA_FILE"] = str(ca[0])
        e["HAES_FRONTEND_CERT"] = str(make_cert(tmp_path, "frontend", ca)[2])
    if name == "haproxy-lua.cfg":
        e["HAES_LUA"] = str(conf_dir() / "haes.lua")
    return e


def test_the_variants_are_there():
    assert {"haproxy-agentcheck.cfg", "haproxy-tls.cfg", "haproxy-lua.cfg"} <= set(VARIANTS), VARIANTS


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_is_valid_without_warnings(tmp_path, name):
    code, out = haproxy_check(env(tmp_path, name), conf_dir() / name)
    assert code == 0, out
    assert "WARNING" not in out.upper(), out


def test_tls_variant_names_a_missing_certificate_file(tmp_path):
    e = env(tmp_path, "haproxy-tls.cfg")
    e["HAES_DC2_CA_FILE"] = str(tmp_path / "no-such-ca.pem")
    code, out = haproxy_check(e, conf_dir() / "haproxy-tls.cfg")
    assert code != 0 and "no-such-ca.pem" in out, out


def safety_lines(text: str) -> list:
    """The lines of the frontend that decide where a request may go."""
    front = text[text.index("\nfrontend es"):]
    front = front[:front.index("\nbackend ")]
    keep = ("filter spoe", "acl haes_", "http-request return", "use_backend", "default_backend")
    return [l.strip() for l in front.splitlines() if l.strip().startswith(keep)]


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_keeps_the_fail_closed_rules(name):
    base = safety_lines((conf_dir() / "haproxy.cfg").read_text())
    assert len(base) >= 6, base
    variant = safety_lines((conf_dir() / name).read_text())
    allowed = ALLOWED_CHANGES.get(name, {})
    for line in base:
        want = allowed.get(line, line)
        assert want in variant, f"{name} lost or changed: {line}"
    # The backends the agent names are all there.
    text = (conf_dir() / name).read_text()
    assert re.search(r"^backend es_dc1$", text, re.M) and re.search(r"^backend es_dc2$", text, re.M)
    assert "backend haes_no_cluster" in text and "backend haes_spoe" in text


def agent_unreachable_rule() -> str:
    return next(l for l in safety_lines((conf_dir() / "haproxy.cfg").read_text())
                if l.startswith("http-request return") and l.endswith("if !haes_answered"))


# name -> {line of haproxy.cfg: the line that replaces it in that variant}
ALLOWED_CHANGES: dict = {
    # haes.lua's fallback (off by default) may stand in for a missing answer.
    "haproxy-lua.cfg": {agent_unreachable_rule(): agent_unreachable_rule() + " !haes_fallback"},
}


@pytest.mark.parametrize("setting,value,expected", [
    ("HAES_FALLBACK_FOR", "5", "a duration from 0s to 10m"),
    ("HAES_FALLBACK_FOR", "11m", "a duration from 0s to 10m"),
    ("HAES_CLI_COMMANDS", "some", '"all" or "read"'),
    ("HAES_CLI_TIMEOUT", "0", "whole seconds from 1 to 86400"),
    ("HAES_ADMIN_SOCKET", "admin.sock", "an absolute path"),
])
def test_lua_settings_are_checked_when_loaded(tmp_path, setting, value, expected):
    e = env(tmp_path, "haproxy-lua.cfg")
    e[setting] = value
    code, out = haproxy_check(e, conf_dir() / "haproxy-lua.cfg")
    assert code != 0, out
    assert f'haes.lua: {setting}="{value}" is not valid: expected {expected}' in out, out
