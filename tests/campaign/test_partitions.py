"""The short version of the `partitions` campaign (docs/reliability.md): a new seed
each run, printed; a failure names it, and
`/usr/bin/python3 tests/campaign/campaign.py partitions --seed S` with the same
sizes replays the same schedule of faults."""

import os

from campaign import run_campaign
from common import new_seed

PARAMS = {"iterations": 10}


def test_partitions_campaign_short(tmp_path):
    seed = int(os.environ.get("HAES_CAMPAIGN_SEED") or new_seed())
    report = run_campaign("partitions", seed, PARAMS, tmp_path)
    print(report.summary())
    assert report.ok, report.summary()
