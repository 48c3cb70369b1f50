"""The short version of the soak (docs/reliability.md "Soak"): about 75 s of
traffic through HAProxy with a failover, a failback and a switchover; no
error outside their RTO windows, the journal bounded, the agent alive. RSS
and descriptor slopes need minutes to mean anything: the full soak
(`nice /usr/bin/python3 tests/campaign/soak.py`) checks them."""

from soak import soak, summary


def test_soak_short(tmp_path):
    report = soak(tmp_path, minutes=1.2, period=20, sample=2, svg=tmp_path / "soak.svg")
    print(summary(report))
    assert report.ok, summary(report)
    assert all(report.counts.get(k, 0) >= 1 for k in ("failover", "failback", "switchover")), report.counts
    assert report.counts["samples"] >= 20 and report.counts["errors outside RTO windows"] == 0
    svg = (tmp_path / "soak.svg").read_text()
    assert svg.startswith("<svg") and "polyline" in svg
