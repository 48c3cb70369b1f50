#!/usr/bin/python3
"""The fault campaign runner (docs/reliability.md).

    /usr/bin/python3 tests/campaign/campaign.py kill       [--seed S] [--iterations 100]
    /usr/bin/python3 tests/campaign/campaign.py blips      [--seed S] [--iterations 100] [--failures 20]
    /usr/bin/python3 tests/campaign/campaign.py partitions [--seed S] [--iterations 100]

Needs the build tree (scripts/build.sh: haes-agent, haesctl), Debian's
haproxy, etcd and python3; `blips` uses network namespaces when run as root.
The seed is printed first: `--seed S` replays the same schedule of faults.
Exits 0 when no check failed, 1 otherwise; the summary (and --report FILE,
JSON) gives the counts, the figures and every finding with its iteration.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Ctx, Report, new_seed  # noqa: E402
from haestest.proc import ProcessGroup  # noqa: E402

DEFAULTS = {"kill": {"iterations": 100}, "blips": {"iterations": 100, "failures": 20},
            "partitions": {"iterations": 100}}


def campaign_module(name: str):
    if name == "kill":
        import kill as m
    elif name == "blips":
        import blips as m
    elif name == "partitions":
        import partitions as m
    else:
        raise ValueError(f"unknown campaign {name!r}: expected one of {sorted(DEFAULTS)}")
    return m


def run_campaign(name: str, seed: int, params: dict, workdir: Path) -> Report:
    """Runs one campaign in workdir; returns its report (never raises for a
    failed check: that is a finding; a bed that cannot start is one too)."""
    full = dict(DEFAULTS[name])
    full.update({k: v for k, v in params.items() if v is not None})
    report = Report(name, seed, full)
    print(f"campaign {name}: seed {seed} (replay with --seed {seed}), {json.dumps(full, sort_keys=True)}",
          flush=True)
    module = campaign_module(name)
    procs = ProcessGroup(workdir / "procs")
    ctx = Ctx(procs, workdir, random.Random(seed), report, full)
    try:
        module.run(ctx)
    except KeyboardInterrupt:  # SIGINT or SIGTERM (main): stop, clean up, report what was done
        report.note(f"interrupted after {time.monotonic() - report.started:.0f} s: the figures are partial")
        report.findings.append({"iteration": "interrupted", "text": "the campaign did not run to its end"})
    except Exception as exc:  # noqa: BLE001 - the campaign stops; the report says where and why
        import traceback
        report.finding("setup" if not report.log else "abort", f"{type(exc).__name__}: {exc}\n"
                       + traceback.format_exc()[-3000:])
    finally:
        if report.findings:
            print(procs.dump_logs(tail=40), flush=True)
        procs.close()
    return report


def check_short(name: str, params: dict, workdir: Path) -> None:
    """The short version of a campaign, as the test command runs it: a new
    seed each run (HAES_CAMPAIGN_SEED replays one), printed with the report;
    a failure names the seed."""
    seed = int(os.environ.get("HAES_CAMPAIGN_SEED") or new_seed())
    report = run_campaign(name, seed, params, workdir)
    print(report.summary())
    assert report.ok, report.summary()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("campaign", choices=sorted(DEFAULTS))
    ap.add_argument("--seed", type=int, default=None, help="replay a run (default: a new seed, printed)")
    ap.add_argument("--iterations", type=int, default=None,
                    help="kills / blips / partition steps (default 100)")
    ap.add_argument("--failures", type=int, default=None, help="blips: real failures (default 20)")
    ap.add_argument("--workdir", type=Path, default=None, help="logs and data (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir")
    ap.add_argument("--report", type=Path, default=None, help="write the report as JSON here")
    a = ap.parse_args(argv)
    if a.failures is not None and a.campaign != "blips":
        ap.error("--failures is for the blips campaign only")
    for k in ("iterations", "failures"):
        v = getattr(a, k)
        if v is not None and v < 0:
            ap.error(f"--{k} must be 0 or more, not {v}")
    # A background shell starts us with SIGINT ignored; SIGTERM would end us
    # without clean-up. Both stop the campaign: its processes are stopped
    # and the partial report printed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    seed = a.seed if a.seed is not None else new_seed()
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix=f"haes-campaign-{a.campaign}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    params = {"iterations": a.iterations}
    if a.campaign == "blips":
        params["failures"] = a.failures
    t0 = time.monotonic()
    report = run_campaign(a.campaign, seed, params, workdir)
    print("\n" + report.summary(), flush=True)
    if a.report:
        a.report.write_text(json.dumps(report.to_json(), indent=1) + "\n")
    if not a.keep and a.workdir is None and report.ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs: {workdir}")
    print(f"{'OK' if report.ok else 'FAILED'}: campaign {a.campaign}, seed {seed}, "
          f"{time.monotonic() - t0:.0f} s")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
