"""A real Prometheus (Debian's `prometheus` package) for tests: its own config
file, storage and rules in the test's workdir, a run-time port on 127.0.0.1,
a 1 s scrape and evaluation interval. Started through the test's
ProcessGroup (stopped with it).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

from haestest.proc import ProcessGroup, Proc, free_port, wait_for


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if not path:
        raise AssertionError("prometheus is not installed (Debian package `prometheus`; scripts/setup.sh)")
    return path


class Prometheus:
    def __init__(self, proc: Proc, port: int, workdir: Path):
        self.proc, self.port, self.workdir = proc, port, workdir
        self.url = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, procs: ProcessGroup, workdir: Path, targets: dict[str, list[str]],
              rule_files: Optional[list[Path]] = None, interval: str = "1s") -> "Prometheus":
        """targets: job name -> ["127.0.0.1:PORT", ...]."""
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        lines = ["global:", f"  scrape_interval: {interval}", f"  scrape_timeout: {interval}",
                 f"  evaluation_interval: {interval}", "rule_files:"]
        lines += [f"  - {json.dumps(str(p))}" for p in (rule_files or [])]
        lines.append("scrape_configs:")
        for job, addrs in targets.items():
            lines += [f"  - job_name: {json.dumps(job)}",
                      "    static_configs:",
                      f"      - targets: {json.dumps(addrs)}"]
        config = workdir / "prometheus.yml"
        config.write_text("\n".join(lines) + "\n")
        proc = procs.start("prometheus", [
            prometheus_binary(), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h", "--log.level=info"])
        prom = cls(proc, port, workdir)
        wait_for(prom.ready, 30, interval=0.2, what="prometheus /-/ready")
        return prom

    def _get(self, path: str, **params) -> dict:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())

    def ready(self) -> bool:
        if not self.proc.alive():
            raise AssertionError(f"prometheus exited: {self.proc.log()[-2000:]}")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list:
        """An instant query's result vector: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        out = self._get("/api/v1/query", query=expr)
        assert out["status"] == "success", out
        return out["data"]["result"]

    def alerts(self) -> list:
        """Active alerts (pending and firing), as /api/v1/alerts lists them."""
        out = self._get("/api/v1/alerts")
        assert out["status"] == "success", out
        return out["data"]["alerts"]

    def rule_groups(self) -> list:
        out = self._get("/api/v1/rules")
        assert out["status"] == "success", out
        return out["data"]["groups"]

    def alert(self, name: str, **labels) -> Optional[dict]:
        """The active alert `name` whose labels include `labels`, or None."""
        for a in self.alerts():
            if a["labels"].get("alertname") == name and all(a["labels"].get(k) == v for k, v in labels.items()):
                return a
        return None
