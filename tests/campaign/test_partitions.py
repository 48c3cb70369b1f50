"""The short version of the `partitions` campaign (docs/reliability.md): a new seed
each run, printed; a failure names it, and
`/usr/bin/python3 tests/campaign/campaign.py partitions --seed S` with the same
sizes replays the same schedule of faults."""

from campaign import check_short

PARAMS = {"iterations": 10}


def test_partitions_campaign_short(tmp_path):
    check_short("partitions", PARAMS, tmp_path)
