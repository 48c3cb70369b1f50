"""cluster::SeveralAgents (who acts in a pair of several agents) against a
real 3-member etcd: runs the GoogleTest binary several_agents_test with the
etcd endpoint in HAES_TEST_ETCD (see several_agents_test.cpp)."""

import os
import subprocess
from pathlib import Path

from haestest.etcd import EtcdCluster


def test_several_agents_component_against_a_real_etcd(procs, tmp_path):
    etcd = EtcdCluster.start(procs, tmp_path / "etcd")
    binary = Path(os.environ["HAES_BUILD_DIR"]) / "tests" / "integration" / "several_agents_test"
    r = subprocess.run([str(binary)], env={**os.environ, "HAES_TEST_ETCD": etcd.endpoints[0]},
                       capture_output=True, text=True, timeout=120)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    # Every test ran and passed: none skipped, none filtered out.
    assert "[  PASSED  ] 3 tests." in r.stdout, r.stdout[-2000:]
    assert "SKIPPED" not in r.stdout
