"""The shipped alert rules (docker/prometheus/haes-alerts.yml) in a real
Prometheus (Debian's package) scraping a live agent beside two essim
clusters: dc1 made red goes pending then firing as HaesActiveClusterRed
(automatic failover off, so it stays active), and a disk set over 90 % fires
HaesDiskUsageCritical. Also: every alert is documented, points at an
existing runbook section, and reads only documented metrics."""

import re
import time
from pathlib import Path

from haestest.bed import Bed
from haestest.prometheus import Prometheus
from haestest.proc import source_dir, wait_for

RULES = source_dir() / "docker" / "prometheus" / "haes-alerts.yml"


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def rule_blocks():
    """(alert name, its text) for every rule of the file."""
    text = RULES.read_text()
    parts = re.split(r"^      - alert: ", text, flags=re.M)[1:]
    return [(p.split("\n", 1)[0].strip(), p) for p in parts]


def test_every_alert_is_documented_tested_and_points_at_a_runbook_section():
    docs = source_dir() / "docs"
    runbook = (docs / "runbook.md").read_text()
    anchors = {slug(line[3:]) for line in runbook.splitlines() if line.startswith("## ")}
    alerts_doc = (docs / "alerts.md").read_text()
    metrics_doc = (docs / "metrics.md").read_text()
    tests = (RULES.parent / "haes-alerts.test.yml").read_text()
    blocks = rule_blocks()
    assert len(blocks) >= 20, [b[0] for b in blocks]
    for name, body in blocks:
        for key in ("summary:", "description:", "runbook_url:", "severity:"):
            assert key in body, f"{name} has no {key}"
        url = re.search(r'runbook_url: "docs/runbook.md#([^"]+)"', body)
        assert url, f"{name}: runbook_url must point at a docs/runbook.md section"
        assert url.group(1) in anchors, f"{name}: no section #{url.group(1)} in docs/runbook.md ({sorted(anchors)})"
        assert f"`{name}`" in alerts_doc, f"{name} is not described in docs/alerts.md"
        assert f"alertname: {name}\n" in tests, f"{name} has no promtool unit test"
        expr = re.search(r"expr: (>-\n(?:\s+.*\n)+?|.*\n)\s+for:", body).group(1)
        for metric in re.findall(r"\bhaes_\w+", expr):
            assert f"`{metric}`" in metrics_doc, f"{name} reads {metric}, which docs/metrics.md does not list"


def test_red_cluster_and_full_disk_alerts_fire_in_a_real_prometheus(procs, tmp_path):
    bed = Bed.start(procs, tmp_path, haproxy=False, nodes=3,
                    agent_extra={"failover": {"automatic": False},
                                 "vitals": {"interval": "1s", "timeout": "800ms"}})
    prom = Prometheus.start(procs, tmp_path / "prometheus",
                            {"haes": [f"127.0.0.1:{bed.agent.health_port}"]}, rule_files=[RULES])
    wait_for(lambda: [r for r in prom.query('up{job="haes"}') if r["value"][1] == "1"], 30, interval=0.25,
             what="prometheus scraping the agent")
    groups = {g["name"]: g for g in prom.rule_groups()}
    assert set(groups) == {"haes-clusters", "haes-vitals", "haes-agent"}, groups.keys()
    assert all(r["health"] == "ok" for g in groups.values() for r in g["rules"]), groups
    wait_for(lambda: prom.query('haes_cluster_disk_used_ratio{cluster="dc2",node="dc2-n2"}'), 30, interval=0.25,
             what="the first vitals in prometheus")
    assert prom.alert("HaesActiveClusterRed") is None
    assert prom.alert("HaesDiskUsageCritical") is None

    bed.dc1.force_red()
    bed.dc2.set_disk("dc2-n2", used_percent=92)
    t0 = time.monotonic()

    pending = wait_for(lambda: (lambda a: a if a and a["state"] == "pending" else None)(
        prom.alert("HaesActiveClusterRed", cluster="dc1")), 20, interval=0.25,
        what="HaesActiveClusterRed pending")
    assert pending["labels"]["severity"] == "critical"
    firing = wait_for(lambda: (lambda a: a if a and a["state"] == "firing" else None)(
        prom.alert("HaesActiveClusterRed", cluster="dc1")), 45, interval=0.25,
        what="HaesActiveClusterRed firing")
    # `for: 15s`: firing no sooner than 15 s after it went pending.
    assert time.monotonic() - t0 >= 15
    assert firing["annotations"]["summary"] == "Active cluster dc1 is red and still active"
    assert firing["annotations"]["runbook_url"].startswith("docs/runbook.md#")
    # dc2 is fine: nothing about it.
    assert prom.alert("HaesActiveClusterRed", cluster="dc2") is None
    assert prom.alert("HaesClusterRed", cluster="dc2") is None

    disk = wait_for(lambda: (lambda a: a if a and a["state"] == "firing" else None)(
        prom.alert("HaesDiskUsageCritical", cluster="dc2", node="dc2-n2")), 60, interval=0.25,
        what="HaesDiskUsageCritical firing")
    assert disk["annotations"]["summary"] == "Disk 92% used on dc2/dc2-n2", disk
    assert prom.alert("HaesDiskUsageCritical", cluster="dc2", node="dc2-n1") is None
    # Healed and emptied: both resolve.
    bed.dc1.heal()
    bed.dc2.set_disk("dc2-n2", used_percent=40)
    wait_for(lambda: prom.alert("HaesActiveClusterRed") is None and prom.alert("HaesDiskUsageCritical") is None,
             30, interval=0.25, what="both alerts resolved")
