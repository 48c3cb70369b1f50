"""The short version of the `blips` campaign (docs/reliability.md): a new seed
each run, printed; a failure names it, and
`/usr/bin/python3 tests/campaign/campaign.py blips --seed S` with the same
sizes replays the same schedule of faults."""

from campaign import check_short

PARAMS = {"iterations": 12, "failures": 3}


def test_blips_campaign_short(tmp_path):
    check_short("blips", PARAMS, tmp_path)
