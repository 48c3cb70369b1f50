"""pytest fixtures shared by every Python test (loaded with -p haestest.pytest_plugin).

- procs: a ProcessGroup in the test's tmp_path; every process it started is
  stopped after the test, and on failure the tail of each log is printed.
- netlab: a NetLab (haestest.netns, needs root): a bridge for this test's
  network namespaces, removed after the test whatever its outcome.
"""

from __future__ import annotations

import pytest

from haestest.proc import ProcessGroup


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def procs(request, tmp_path):
    group = ProcessGroup(tmp_path / "procs")
    yield group
    failed = any(getattr(request.node, "rep_" + w, None) is not None
                 and getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    try:
        group.close()
    finally:
        if failed:
            print("\n" + group.dump_logs())


@pytest.fixture
def netlab(procs):
    from haestest.netns import NetLab
    lab = NetLab.create(procs)
    yield lab
    lab.close()  # stops the processes started in its namespaces first
