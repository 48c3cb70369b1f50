"""Self-tests of haestest.history: the checker on synthetic histories (with
exact times, so its messages can be checked to the millisecond), then live
samplers against two HTTP servers standing in for agents that flip answers."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from haestest.history import History, Sample, Sampler, assert_exclusive, check_exclusive, timeline
from haestest.proc import wait_for


def synthetic(*runs) -> History:
    """runs: (agent, cluster, state, start, end, step): answers every `step`
    seconds from start to end (each lasting 2 ms), + positive, - negative,
    ? no answer; times in seconds after the history began."""
    h = History()
    for agent, cluster, state, start, end, step in runs:
        t = start
        while t <= end + 1e-9:
            positive = {"+": True, "-": False, "?": None}[state]
            detail = {"+": "200 OK", "-": "503 passive", "?": "ConnectionRefusedError"}[state]
            h.add(Sample(agent, cluster, positive, h.t0 + t, h.t0 + t + 0.002, detail))
            t += step
    return h


def test_overlapping_positives_fail_naming_agents_clusters_and_times():
    h = synthetic(("a", "dc1", "+", 0.0, 1.0, 0.03), ("a", "dc1", "-", 1.2, 2.0, 0.03),
                  ("b", "dc2", "-", 0.0, 0.9, 0.03), ("b", "dc2", "+", 0.93, 2.0, 0.03))
    h.mark("cut etcd member 0", h.t0 + 0.95)
    v = check_exclusive(h, tolerance=0.0)
    assert not v.ok
    # a answered dc1+ from 0.000 to 0.992 (last answer at 0.99), b dc2+ from 0.930 on: 62 ms together.
    assert v.violations == 1 and abs(v.worst_overlap - 0.062) < 1e-6
    c = v.worst[0]
    assert {(c.a.agent, c.a.cluster), (c.b.agent, c.b.cluster)} == {("a", "dc1"), ("b", "dc2")}
    with pytest.raises(AssertionError) as err:
        assert_exclusive(h)
    msg = str(err.value)
    assert msg.startswith("VIOLATION: two agents answered positive for different clusters")
    assert f"agent a answered dc1 positive from {h.wall(h.t0)} to {h.wall(h.t0 + 0.992)} (+0.000s, 34 answers)" in msg
    assert f"agent b answered dc2 positive from {h.wall(h.t0 + 0.93)} to " in msg and "(+0.930s, 36 answers)" in msg
    assert "overlap 62.0 ms" in msg
    # The timeline around it shows both agents' changes and the test's mark.
    assert "timeline around " + h.at(h.t0 + 0.93) in msg
    assert "agent a (" in msg and "agent b (" in msg and "** cut etcd member 0" in msg
    assert "dc2 - -> +" in msg


def test_a_lasting_conflict_is_found_whatever_the_probes_phases():
    # Answers that never overlap in time (a at 0, 30, 60 ms..., b at 10, 40, 70 ms...),
    # yet both agents say "positive" all along, for different clusters.
    h = synthetic(("a", "dc1", "+", 0.0, 1.0, 0.03), ("b", "dc2", "+", 0.01, 1.0, 0.03))
    v = check_exclusive(h)
    assert not v.ok and v.worst_overlap > 0.9, v.summary()


def test_disjoint_positives_pass_and_report_the_handover_gap():
    h = synthetic(("a", "dc1", "+", 0.0, 1.0, 0.03), ("a", "dc1", "-", 1.02, 3.0, 0.03),
                  ("b", "dc1", "+", 0.01, 0.9, 0.03), ("b", "dc1", "-", 0.93, 3.0, 0.03),
                  ("a", "dc2", "-", 0.0, 1.5, 0.03), ("a", "dc2", "+", 1.53, 3.0, 0.03),
                  ("b", "dc2", "?", 0.0, 1.6, 0.03), ("b", "dc2", "+", 1.63, 3.0, 0.03))
    v = assert_exclusive(h, tolerance=0.1)
    assert v.ok and v.violations == 0 and v.worst_overlap == 0
    # Last dc1+ ended at 0.99 + 0.002 (a); first dc2+ began at 1.53 (a).
    assert len(v.handovers) == 1
    ho = v.handovers[0]
    assert (ho.last.cluster, ho.first.cluster, ho.last.agent, ho.first.agent) == ("dc1", "dc2", "a", "a")
    assert abs(v.min_handover_gap - (1.53 - 0.992)) < 1e-6
    # Across agents the closest call is b's first dc2+ (1.63) after a's last dc1+ (0.992).
    assert abs(v.closest.gap - (1.63 - 0.992)) < 1e-6
    text = v.summary()
    assert text.startswith("OK: ") and "smallest gap 538.0 ms" in text and "dc1 -> dc2" in text
    assert "sampled b/dc2: " in text and "without answer" in text


def test_positives_closer_than_the_tolerance_fail():
    h = synthetic(("a", "dc1", "+", 0.0, 0.99, 0.03), ("b", "dc2", "+", 1.05, 2.0, 0.03))
    assert check_exclusive(h, tolerance=0.0).ok
    v = check_exclusive(h, tolerance=0.1)
    assert not v.ok and v.worst_overlap == 0
    assert "gap 58.0 ms < tolerance 100.0 ms" in v.describe(v.worst[0])  # 1.050 - (0.990 + 0.002)


def test_one_agent_flipping_is_not_a_conflict_and_negatives_never_are():
    h = synthetic(("a", "dc1", "+", 0.0, 1.0, 0.03), ("a", "dc2", "+", 1.001, 2.0, 0.03),
                  ("b", "dc1", "-", 0.0, 2.0, 0.03), ("b", "dc2", "?", 0.0, 2.0, 0.03))
    assert check_exclusive(h, tolerance=0.5).ok
    assert not check_exclusive(synthetic(("a", "dc1", "+", 0.0, 1.0, 0.03), ("a", "dc2", "+", 0.51, 2.0, 0.03)),
                               same_agent=True).ok


def test_the_timeline_reads_as_state_changes():
    h = synthetic(("a", "dc1", "+", 0.0, 1.0, 0.1), ("a", "dc1", "?", 1.1, 1.5, 0.1), ("a", "dc1", "-", 1.6, 2.0, 0.1))
    h.mark("agent a stopped", h.t0 + 1.05)
    lines = timeline(h).splitlines()
    assert lines[0] == "agent a (21 answers)"
    body = "\n".join(lines)
    assert "(+0.000s)  dc1 +   200 OK" in body
    assert "dc1 + -> ?   ConnectionRefusedError" in body and "dc1 ? -> -   503 passive" in body
    assert body.index("** agent a stopped") < body.index("dc1 + -> ?")
    assert "dc1 - (last answer)" in body


class FlipServer:
    """An HTTP server standing in for an agent's health port: GET /lb/<c>
    answers 200 or 503 from a table the test flips."""

    def __init__(self, answers: dict):
        self.answers = dict(answers)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                cluster = self.path.rsplit("/", 1)[-1]
                ok = owner.answers.get(cluster, False)
                body = (f"OK {cluster} may take traffic" if ok else f"passive: {cluster}").encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def two_agents():
    a, b = FlipServer({"dc1": True, "dc2": False}), FlipServer({"dc1": True, "dc2": False})
    yield a, b
    a.close()
    b.close()


def sample_both(procs, a, b) -> Sampler:
    s = Sampler(interval=0.02)
    s.health("a", "127.0.0.1", a.port, ["dc1", "dc2"]).health("b", "127.0.0.1", b.port, ["dc1", "dc2"])
    return s.start(procs)


def test_live_a_clean_handover_passes_and_its_gap_is_measured(procs, two_agents):
    a, b = two_agents
    sampler = sample_both(procs, a, b)
    h = sampler.history
    wait_for(lambda: h.answering("a", "dc1") and h.answering("b", "dc1"), 5, what="first answers")
    h.mark("both agents give dc1 up")
    a.answers["dc1"] = b.answers["dc1"] = False
    off = time.monotonic()
    wait_for(lambda: h.answering("a", "dc1", False, off) and h.answering("b", "dc1", False, off), 5,
             what="both agents seen answering dc1 negative")
    time.sleep(0.25)  # the pause between giving dc1 up and taking dc2 is the scenario under test
    h.mark("both agents take dc2")
    a.answers["dc2"] = b.answers["dc2"] = True
    on = time.monotonic()
    wait_for(lambda: h.answering("a", "dc2", True, on) and h.answering("b", "dc2", True, on), 5, what="dc2 positive")
    v = assert_exclusive(sampler.stop(), tolerance=0.1)
    assert len(v.handovers) == 1 and 0.25 <= v.min_handover_gap < 2.0, v.summary()
    assert all(n >= 10 for n, *_ in v.sampling.values()), v.summary()


def test_live_an_early_takeover_is_caught(procs, two_agents):
    a, b = two_agents
    sampler = sample_both(procs, a, b)
    h = sampler.history
    wait_for(lambda: h.answering("a", "dc1"), 5, what="a's first answer")
    h.mark("b takes dc2 while a still serves dc1")
    b.answers.update(dc1=False, dc2=True)
    on = time.monotonic()
    wait_for(lambda: h.answering("b", "dc2", True, on) and h.answering("a", "dc1", True, on + 0.1), 5,
             what="both positive, for different clusters")
    a.answers.update(dc1=False, dc2=True)
    with pytest.raises(AssertionError) as err:
        assert_exclusive(sampler.stop(), tolerance=0.0)
    msg = str(err.value)
    assert "VIOLATION" in msg and "agent a answered dc1 positive" in msg and "agent b answered dc2 positive" in msg
    assert "** b takes dc2 while a still serves dc1" in msg
