"""Basic auth, API keys and TLS, with ES 8's 401 answers
(security_exception with WWW-Authenticate; ES-REFERENCE §0 Authentication)."""

import base64
import json
import ssl
import subprocess

import pytest

from haestest.essim import EssimCluster, http


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def api_key(key_id, key):
    return {"Authorization": "ApiKey " + base64.b64encode(f"{key_id}:{key}".encode()).decode()}


@pytest.fixture
def secured(procs, tmp_path):
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"users": {"elastic": "changeme"}, "api_keys": {"k1": "s3cret"}}))
    return EssimCluster.start(procs, "sec", nodes=1, repo_root=tmp_path / "r", users=users)


def test_missing_credentials_get_401_with_challenges(secured):
    status, err = secured.es("GET", "/_cluster/health")
    assert status == 401
    assert err["error"]["type"] == "security_exception"
    assert err["error"]["reason"] == "missing authentication credentials for REST request [/_cluster/health]"
    assert err["error"]["header"]["WWW-Authenticate"][0] == 'Basic realm="security" charset="UTF-8"'


def test_wrong_password_names_the_user(secured):
    status, err = secured.es("GET", "/", headers=basic("elastic", "wrong"))
    assert status == 401
    assert err["error"]["reason"] == "unable to authenticate user [elastic] for REST request [/]"


def test_basic_and_api_key_are_accepted(secured):
    assert secured.es("GET", "/_cluster/health", headers=basic("elastic", "changeme"))[0] == 200
    assert secured.es("GET", "/_cluster/health", headers=api_key("k1", "s3cret"))[0] == 200
    assert secured.es("GET", "/_cluster/health", headers=api_key("k1", "nope"))[0] == 401


def test_tls_with_a_certificate_the_test_generates(procs, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    tls = EssimCluster.start(procs, "tls", nodes=1, repo_root=tmp_path / "r", tls_cert=cert, tls_key=key)
    assert tls.url().startswith("https://")
    ctx = ssl.create_default_context(cafile=str(cert))
    status, body = http("GET", tls.url() + "/", context=ctx)
    assert status == 200 and body["cluster_name"] == "tls"
    with pytest.raises(Exception):  # the system CAs do not know this certificate
        http("GET", tls.url() + "/", context=ssl.create_default_context())
