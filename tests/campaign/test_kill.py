"""The short version of the `kill` campaign (docs/reliability.md): a new seed
each run, printed; a failure names it, and
`/usr/bin/python3 tests/campaign/campaign.py kill --seed S` with the same
sizes replays the same schedule of faults."""

from campaign import check_short

PARAMS = {"iterations": 4}


def test_kill_campaign_short(tmp_path):
    check_short("kill", PARAMS, tmp_path)
