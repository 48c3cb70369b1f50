"""Snapshots as real files in a repository two clusters share (ES 8
create/get/status/restore snapshot API docs; ES-REFERENCE §1.4-1.10, §2)."""

from haestest.proc import wait_for


def register(cluster, name="haes", readonly=False, location="shared"):
    return cluster.es("PUT", f"/_snapshot/{name}",
                      {"type": "fs", "settings": {"location": location, "readonly": readonly}})


def snapshot(cluster, name, body=None, repo="haes"):
    return cluster.es("PUT", f"/_snapshot/{repo}/{name}?wait_for_completion=true", body or {})


def test_dc1_to_dc2_through_a_shared_repository(pair):
    dc1, dc2 = pair
    dc1.create_index("logs", shards=2)
    dc1.bulk_index("logs", {i: {"n": i} for i in range(200)})
    assert register(dc1)[0] == 200
    assert register(dc2, readonly=True)[0] == 200
    status, out = snapshot(dc1, "s1", {"indices": "logs", "include_global_state": False})
    assert status == 200
    info = out["snapshot"]
    assert info["state"] == "SUCCESS" and info["indices"] == ["logs"]
    assert info["shards"] == {"total": 2, "failed": 0, "successful": 2}
    assert info["repository"] == "haes" and info["include_global_state"] is False
    # the passive cluster sees it through its own registration
    listed = dc2.ok("GET", "/_snapshot/haes/_all")
    assert [s["snapshot"] for s in listed["snapshots"]] == ["s1"] and listed["total"] == 1
    status, out = dc2.es("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {"indices": "logs"})
    assert status == 200
    assert out["snapshot"]["shards"] == {"total": 2, "failed": 0, "successful": 2}
    assert dc2.count("logs") == dc1.count("logs") == 200
    assert dc2.ok("GET", "/logs/_doc/17")["_source"] == {"n": 17}


def test_snapshots_are_incremental(pair):
    dc1, _ = pair
    dc1.create_index("logs")
    dc1.bulk_index("logs", {i: {"n": i, "pad": "x" * 200} for i in range(100)})
    register(dc1)
    snapshot(dc1, "s1")
    dc1.bulk_index("logs", {i: {"n": i} for i in range(100, 110)})
    snapshot(dc1, "s2")
    st = dc1.ok("GET", "/_snapshot/haes/s2/_status")["snapshots"][0]
    assert st["state"] == "SUCCESS"
    inc, total = st["stats"]["incremental"], st["stats"]["total"]
    assert 0 < inc["size_in_bytes"] < total["size_in_bytes"]
    assert inc["file_count"] == 1 and total["file_count"] == 2
    assert st["shards_stats"]["done"] == 1 and st["indices"]["logs"]["shards"]["0"]["stage"] == "DONE"


def test_in_progress_is_observable(pair):
    dc1, _ = pair
    dc1.create_index("logs")
    dc1.bulk_index("logs", {i: {"pad": "y" * 500} for i in range(100)})
    register(dc1)
    dc1.set_snapshot_speed(20_000)  # ~50 KB: a couple of seconds
    assert dc1.ok("PUT", "/_snapshot/haes/slow", {}) == {"accepted": True}
    current = dc1.ok("GET", "/_snapshot/haes/_current")["snapshots"]
    assert [s["state"] for s in current] == ["IN_PROGRESS"]
    st = dc1.ok("GET", "/_snapshot/haes/slow/_status")["snapshots"][0]
    assert st["state"] == "STARTED" and st["shards_stats"]["started"] == 1
    status, err = dc1.es("POST", "/logs/_close")
    assert status == 400 and err["error"]["type"] == "snapshot_in_progress_exception"
    wait_for(lambda: dc1.ok("GET", "/_snapshot/haes/slow")["snapshots"][0]["state"] == "SUCCESS", 20,
             what="snapshot done")
    assert dc1.ok("GET", "/_snapshot/haes/_current")["snapshots"] == []


def test_a_red_cluster_refuses_a_snapshot_unless_partial(pair):
    dc1, _ = pair
    dc1.create_index("logs", shards=2)
    dc1.bulk_index("logs", {i: {"n": i} for i in range(10)})
    register(dc1)
    dc1.force_red("logs")
    status, err = snapshot(dc1, "red")
    assert status == 500 and err["error"]["type"] == "snapshot_exception"
    assert "Indices don't have primary shards [logs]" in err["error"]["reason"]
    assert dc1.ok("GET", "/_snapshot/haes/_all")["snapshots"] == []  # nothing recorded
    status, out = snapshot(dc1, "partial", {"partial": True})
    assert status == 200
    info = out["snapshot"]
    assert info["state"] == "PARTIAL" and info["shards"]["failed"] == 1
    assert info["failures"][0]["reason"] == "primary shard is not allocated"
    status, err = dc1.es("POST", "/_snapshot/haes/partial/_restore", {"rename_pattern": "(.+)", "rename_replacement": "r-$1"})
    assert status == 500 and "wasn't fully snapshotted" in err["error"]["reason"]


def test_restore_refusals_and_closed_index_restore(pair):
    dc1, dc2 = pair
    dc1.create_index("logs")
    dc1.bulk_index("logs", {i: {"n": i} for i in range(5)})
    register(dc1)
    register(dc2, readonly=True)
    snapshot(dc1, "s1")
    dc2.create_index("logs")
    dc2.bulk_index("logs", {"stale": {"n": -1}})
    status, err = dc2.es("POST", "/_snapshot/haes/s1/_restore", {})
    assert status == 500 and err["error"]["type"] == "snapshot_restore_exception"
    assert "because an open index with same name already exists in the cluster" in err["error"]["reason"]
    dc2.ok("POST", "/logs/_close")
    out = dc2.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})
    assert out["snapshot"]["indices"] == ["logs"]
    assert dc2.count("logs") == 5  # exactly the snapshot's documents
    assert dc2.es("GET", "/logs/_doc/stale")[0] == 404
    status, err = dc2.es("POST", "/_snapshot/haes/nope/_restore", {})
    assert status == 404 and err["error"]["type"] == "snapshot_missing_exception"
    status, err = dc2.es("POST", "/_snapshot/nope/s1/_restore", {})
    assert status == 404 and err["error"]["type"] == "repository_missing_exception"
    out = dc2.ok("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true",
                 {"rename_pattern": "(.+)", "rename_replacement": "restored-$1",
                  "index_settings": {"index.number_of_replicas": 0}})
    assert out["snapshot"]["indices"] == ["restored-logs"]
    assert dc2.count("restored-logs") == 5


def test_restored_indices_are_yellow_while_recovering_then_green(pair):
    dc1, dc2 = pair
    dc1.create_index("logs", replicas=1)
    dc1.bulk_index("logs", {i: {"pad": "z" * 500} for i in range(60)})
    register(dc1)
    register(dc2, readonly=True)
    snapshot(dc1, "s1")
    dc2.set_snapshot_speed(30_000)
    assert dc2.ok("POST", "/_snapshot/haes/s1/_restore", {}) == {"accepted": True}
    h = dc2.health(level="indices")
    assert h["indices"]["logs"]["status"] == "yellow" and h["initializing_shards"] == 1
    assert dc2.health(wait_for_status="green", timeout="20s")["status"] == "green"


def test_a_restore_that_cannot_allocate_answers_200_with_failed_shards(pair):
    dc1, dc2 = pair
    dc1.create_index("logs", shards=2)
    dc1.bulk_index("logs", {1: {"a": 1}})
    register(dc1)
    register(dc2, readonly=True)
    snapshot(dc1, "s1")
    dc2.fail_next_restore()
    status, out = dc2.es("POST", "/_snapshot/haes/s1/_restore?wait_for_completion=true", {})
    assert status == 200
    assert out["snapshot"]["shards"]["failed"] == 2
    assert dc2.health()["status"] == "red"


def test_a_readonly_repository_lists_and_restores_but_never_writes(pair):
    dc1, dc2 = pair
    dc1.create_index("logs")
    register(dc1)
    snapshot(dc1, "s1")
    register(dc2, readonly=True)
    status, err = snapshot(dc2, "s2")
    assert status == 500 and err["error"]["type"] == "repository_exception"
    assert err["error"]["reason"] == "[haes] cannot create snapshot in a readonly repository"
    status, err = dc2.es("DELETE", "/_snapshot/haes/s1")
    assert status == 500 and "readonly" in err["error"]["reason"]
    assert dc2.ok("GET", "/_snapshot/haes")["haes"]["settings"]["readonly"] == "true"


def test_two_writers_corrupt_the_repository_until_it_is_deleted_and_registered_again(pair):
    dc1, dc2 = pair
    dc1.create_index("a")
    dc2.create_index("b")
    register(dc1)
    register(dc2)  # a second WRITING registration: the mistake haes must never make
    assert snapshot(dc1, "from-dc1")[0] == 200
    assert snapshot(dc2, "from-dc2")[0] == 500  # dc2's view is stale now
    status, err = dc2.es("GET", "/_snapshot/haes/_all")
    assert status == 500
    assert "do not match its expected state" in err["error"]["reason"]
    register(dc2)  # the same settings again: ES changes nothing, so it stays disabled
    assert dc2.es("GET", "/_snapshot/haes/_all")[0] == 500
    assert dc2.es("DELETE", "/_snapshot/haes")[0] == 200
    register(dc2)  # re-created: it reads the repository's contents again
    assert dc2.es("GET", "/_snapshot/haes/_all")[0] == 200
    assert snapshot(dc2, "from-dc2")[0] == 200  # dc2 writes...
    status, err = snapshot(dc1, "again")  # ...and now dc1 is the stale one
    assert status == 500 and "expected state" in err["error"]["reason"]


def test_repository_location_must_be_under_path_repo(pair):
    dc1, _ = pair
    status, err = dc1.es("PUT", "/_snapshot/bad", {"type": "fs", "settings": {"location": "/etc"}})
    assert status == 500 and err["error"]["type"] == "repository_exception"
    assert "doesn't match any of the locations specified by path.repo" in err["error"]["caused_by"]["reason"]
    status, err = dc1.es("PUT", "/_snapshot/bad", {"type": "s3", "settings": {"bucket": "x"}})
    assert status == 500
    status, out = dc1.es("POST", "/_snapshot/haes/_verify")
    assert status == 404 and out["error"]["type"] == "repository_missing_exception"
    register(dc1)
    assert dc1.ok("POST", "/_snapshot/haes/_verify")["nodes"]


def test_concurrent_snapshot_limit_and_duplicate_names(pair):
    dc1, _ = pair
    dc1.create_index("logs")
    dc1.bulk_index("logs", {i: {"pad": "q" * 500} for i in range(50)})
    register(dc1)
    dc1.ok("PUT", "/_cluster/settings", {"persistent": {"snapshot.max_concurrent_operations": 1}})
    dc1.set_snapshot_speed(10_000)
    dc1.ok("PUT", "/_snapshot/haes/first", {})
    status, err = dc1.es("PUT", "/_snapshot/haes/second", {})
    assert status == 503 and err["error"]["type"] == "concurrent_snapshot_execution_exception"
    status, err = dc1.es("PUT", "/_snapshot/haes/first", {})
    assert status == 400 and err["error"]["type"] == "invalid_snapshot_name_exception"


def test_delete_snapshot_keeps_what_others_reference(pair):
    dc1, dc2 = pair
    dc1.create_index("logs")
    dc1.bulk_index("logs", {i: {"n": i} for i in range(20)})
    register(dc1)
    snapshot(dc1, "s1")
    dc1.bulk_index("logs", {i: {"n": i} for i in range(20, 30)})
    snapshot(dc1, "s2")
    assert dc1.ok("DELETE", "/_snapshot/haes/s1") == {"acknowledged": True}
    status, err = dc1.es("DELETE", "/_snapshot/haes/s1")
    assert status == 404
    register(dc2, readonly=True)
    dc2.ok("POST", "/_snapshot/haes/s2/_restore?wait_for_completion=true", {})
    assert dc2.count("logs") == 30


def test_restore_carries_index_blocks_unless_index_settings_override_them(pair):
    # index.blocks.write is an index setting: a snapshot taken while writes
    # are blocked restores a blocked index (ES restore API: index_settings
    # overrides settings of the restored index).
    dc1, dc2 = pair
    dc1.create_index("orders", shards=1, replicas=0)
    dc1.bulk_index("orders", {1: {"n": 1}})
    register(dc1)
    register(dc2, readonly=True)
    dc1.ok("PUT", "/orders/_settings", {"index.blocks.write": True})
    assert snapshot(dc1, "blocked", {"indices": "orders"})[0] == 200
    dc2.ok("POST", "/_snapshot/haes/blocked/_restore?wait_for_completion=true", {"indices": "orders"})
    status, out = dc2.es("PUT", "/orders/_doc/2", {"n": 2})
    assert status == 403 and out["error"]["type"] == "cluster_block_exception"
    dc2.ok("POST", "/orders/_close")
    dc2.ok("POST", "/_snapshot/haes/blocked/_restore?wait_for_completion=true",
           {"indices": "orders", "index_settings": {"index.blocks.write": False}})
    wait_for(lambda: dc2.es("PUT", "/orders/_doc/2", {"n": 2})[0] in (200, 201), 10, what="write accepted")
