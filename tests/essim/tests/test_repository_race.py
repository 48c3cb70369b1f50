"""The repository's own bookkeeping under concurrency, in process: a check
that runs while the same registration commits must never take that commit
for a foreign write (it did once, and disabled the repository in the middle
of a planned switchover)."""

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from essimlib import repository  # noqa: E402
from essimlib.errors import EsError  # noqa: E402


def test_a_check_during_our_own_commit_is_not_a_foreign_write(tmp_path, monkeypatch):
    repo = repository.register({}, tmp_path, "haes", {"type": "fs", "settings": {"location": "r"}}, "n1")
    repo.commit({"snapshots": []})
    outcome = []

    def check():
        try:
            repo.check()
            outcome.append("ok")
        except EsError as e:
            outcome.append(e.reason)

    real_write = repository.write_atomic
    checker = []

    def write_then_check(path, data):
        real_write(path, data)
        if path.name == "index.latest" and not checker:
            # index.latest names the new generation, expected_gen does not yet:
            # a check arriving now must wait for the commit to finish.
            t = threading.Thread(target=check)
            checker.append(t)
            t.start()
            t.join(0.3)

    monkeypatch.setattr(repository, "write_atomic", write_then_check)
    repo.commit({"snapshots": []})
    checker[0].join(5)
    assert outcome == ["ok"]
    repo.check()  # and the registration is still usable


def test_a_foreign_write_still_disables_the_writer(tmp_path):
    ours = repository.register({}, tmp_path, "haes", {"type": "fs", "settings": {"location": "r"}}, "n1")
    theirs = repository.register({}, tmp_path, "haes", {"type": "fs", "settings": {"location": "r"}}, "n2")
    ours.commit({"snapshots": []})
    with pytest.raises(EsError) as e:
        theirs.commit({"snapshots": []})
    assert e.value.status == 500 and "do not match its expected state" in e.value.reason
