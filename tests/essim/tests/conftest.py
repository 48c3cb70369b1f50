import pytest

from haestest.essim import EssimCluster


@pytest.fixture
def dc1(procs, tmp_path):
    return EssimCluster.start(procs, "dc1", nodes=3, repo_root=tmp_path / "repo")


@pytest.fixture
def pair(procs, tmp_path):
    """Two clusters sharing one path.repo, like two sites sharing a snapshot store."""
    a = EssimCluster.start(procs, "dc1", nodes=2, repo_root=tmp_path / "repo")
    b = EssimCluster.start(procs, "dc2", nodes=2, repo_root=tmp_path / "repo")
    return a, b


@pytest.fixture
def sites(procs, tmp_path):
    """A leader (dc1) and a follower (dc2) that knows it as remote cluster dc1."""
    leader = EssimCluster.start(procs, "dc1", nodes=2, repo_root=tmp_path / "a")
    follower = EssimCluster.start(procs, "dc2", nodes=2, repo_root=tmp_path / "b")
    follower.add_remote("dc1", leader)
    return leader, follower
