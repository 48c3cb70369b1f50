"""Remote clusters and licenses for CCR (RemoteClusterService,
RemoteClusterLicenseChecker, CcrLicenseChecker): the license types, ES's errors
for a non-compliant license and an unknown remote, RemoteClient (HTTP requests
to a remote cluster's seed nodes, in order; in essim a seed is the HTTP address
of one of the leader's nodes, in ES its transport address), and the
RemoteClusters mixin of CcrService (ccr) that reads `cluster.remote.<alias>.*`
cluster settings, checks the local and the remote license, and answers
GET /_remote/info."""

from __future__ import annotations

import http.client
import json

from essimlib.errors import EsError
from essimlib.settings import seed_list

CCR_LICENSES = ("platinum", "enterprise", "trial")
LICENSE_TYPES = ("basic", "standard", "gold", "platinum", "enterprise", "trial")


def license_error() -> EsError:
    """LicenseUtils.newComplianceException("ccr")."""
    return EsError(403, "security_exception", "current license is non-compliant for [ccr]",
                   {"license.expired.feature": "ccr"})


def no_such_remote(alias: str) -> EsError:
    return EsError(404, "no_such_remote_cluster_exception", f"no such remote cluster: [{alias}]")


class RemoteUnreachable(Exception):
    def __init__(self, address: str):
        super().__init__(address)
        self.address = address

    def cause(self) -> dict:
        return {"type": "connect_transport_exception", "reason": f"[][{self.address}] connect_exception"}


class RemoteError(Exception):
    """The leader answered with an ES error."""

    def __init__(self, status: int, body):
        err = body.get("error") if isinstance(body, dict) else None
        self.status = status
        self.cause = ({k: v for k, v in err.items() if k != "root_cause"} if isinstance(err, dict)
                      else {"type": "exception", "reason": f"HTTP {status}: {str(body)[:200]}"})
        super().__init__(self.cause.get("reason"))


class RemoteClient:
    """Requests to a remote cluster's seed nodes, in order, over HTTP."""

    def __init__(self, alias: str, seeds: list, timeout: float = 2.0):
        self.alias, self.seeds, self.timeout = alias, seeds, timeout

    def request(self, method: str, path: str) -> dict:
        last = self.seeds[-1] if self.seeds else "?"
        for seed in self.seeds:
            host, _, port = seed.rpartition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
            try:
                conn.request(method, path, headers={"Accept": "application/json"})
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                last = seed
                continue
            finally:
                conn.close()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {"error": {"type": "exception", "reason": raw[:200].decode("utf-8", "replace")}}
            if resp.status >= 400:
                raise RemoteError(resp.status, body)
            return body
        raise RemoteUnreachable(last)


class RemoteClusters:
    """Mixed into CcrService: uses its cluster and license."""

    def ccr_allowed(self) -> bool:
        return self.license["status"] == "active" and self.license["type"] in CCR_LICENSES

    def check_license(self) -> None:
        if not self.ccr_allowed():
            raise license_error()

    def remotes(self) -> dict:
        out: dict = {}
        for key, value in self.cluster.settings.prefixed("cluster.remote.").items():
            alias, _, setting = key[len("cluster.remote."):].partition(".")
            out.setdefault(alias, {})[setting] = value
        return {alias: {"seeds": seed_list(s.get("seeds", "")),
                        "skip_unavailable": str(s.get("skip_unavailable", "false")).lower() == "true",
                        "mode": s.get("mode", "sniff")}
                for alias, s in out.items() if seed_list(s.get("seeds", ""))}

    def client(self, alias: str) -> RemoteClient:
        remote = self.remotes().get(alias)
        if remote is None:
            raise no_such_remote(alias)
        return RemoteClient(alias, remote["seeds"])

    def remote_license(self, client: RemoteClient, unknown, non_compliant) -> None:
        """RemoteClusterLicenseChecker, with CcrLicenseChecker's messages."""
        try:
            lic = client.request("GET", "/_license")["license"]
        except (RemoteUnreachable, RemoteError) as e:
            cause = e.cause() if isinstance(e, RemoteUnreachable) else e.cause
            raise EsError(400, "status_exception", unknown,
                          caused_by={"type": "exception",
                                     "reason": f"could not determine the license type for cluster [{client.alias}]",
                                     "caused_by": cause}) from None
        if lic.get("status") != "active":
            raise EsError(400, "status_exception",
                          f"{non_compliant}; the license on cluster [{client.alias}] is not active")
        if lic.get("type") not in CCR_LICENSES:
            raise EsError(400, "status_exception",
                          f"{non_compliant}; the license mode [{lic.get('type', '').upper()}] on cluster "
                          f"[{client.alias}] does not enable [ccr]")

    def remote_info(self) -> dict:
        out = {}
        for alias, remote in self.remotes().items():
            client = RemoteClient(alias, remote["seeds"], timeout=1.0)
            try:
                nodes = client.request("GET", "/_nodes")["nodes"]
                connected, count = True, min(3, len(nodes))
            except (RemoteUnreachable, RemoteError):
                connected, count = False, 0
            out[alias] = {"connected": connected, "mode": remote["mode"], "seeds": remote["seeds"],
                          "num_nodes_connected": count, "max_connections_per_cluster": 3,
                          "initial_connect_timeout": "30s", "skip_unavailable": remote["skip_unavailable"]}
        return out
