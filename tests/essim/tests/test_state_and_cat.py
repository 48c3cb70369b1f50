"""What Elasticsearch's own REST tests exercise around the APIs haes
touches: cluster state, recovery, _cat snapshots/repositories/indices,
alias existence, the health wait. Each test names its rest-api-spec test
or reference page."""

import time
import urllib.request


def register(cluster, readonly=False):
    return cluster.ok("PUT", "/_snapshot/haes", {"type": "fs", "settings": {"location": "shared",
                                                                          "readonly": readonly}})


def test_cluster_state_and_metric_filtering(dc1):
    # cluster.state/10_basic.yml, 20_filtering.yml; ClusterState.toXContent
    dc1.create_index("logs", shards=2, replicas=1)
    dc1.create_index("old", shards=1, replicas=0)
    dc1.ok("POST", "/old/_close")
    full = dc1.ok("GET", "/_cluster/state")
    assert {"cluster_name", "cluster_uuid", "version", "state_uuid", "master_node", "blocks", "nodes",
            "metadata", "routing_table", "routing_nodes"} <= set(full)
    assert full["cluster_name"] == "dc1" and full["cluster_uuid"] == dc1.ok("GET", "/")["cluster_uuid"]
    node_ids = set(dc1.ok("GET", "/_nodes")["nodes"])
    assert set(full["nodes"]) == node_ids and full["master_node"] in node_ids
    assert full["nodes"][full["master_node"]]["name"] == "dc1-n1"
    logs = full["metadata"]["indices"]["logs"]
    assert logs["state"] == "open" and logs["settings"]["index"]["number_of_shards"] == "2"
    assert logs["aliases"] == [] and set(logs["primary_terms"]) == {"0", "1"}
    assert full["metadata"]["indices"]["old"]["state"] == "close"
    assert full["blocks"]["indices"]["old"]["4"]["description"] == "index closed"
    shard0 = full["routing_table"]["indices"]["logs"]["shards"]["0"]
    assert [c["primary"] for c in shard0] == [True, False] and {c["state"] for c in shard0} == {"STARTED"}
    assert "old" not in full["routing_table"]["indices"]
    some = dc1.ok("GET", "/_cluster/state/metadata,master_node")
    assert set(some) == {"cluster_name", "cluster_uuid", "master_node", "metadata"}
    only = dc1.ok("GET", "/_cluster/state/metadata/logs")
    assert list(only["metadata"]["indices"]) == ["logs"]
    assert set(dc1.ok("GET", "/_cluster/state/version")) == {"cluster_name", "cluster_uuid", "version",
                                                              "state_uuid"}
    v1 = dc1.ok("GET", "/_cluster/state/version")["version"]
    assert dc1.ok("GET", "/_cluster/state/version")["version"] == v1  # nothing changed
    dc1.create_index("more")
    assert dc1.ok("GET", "/_cluster/state/version")["version"] > v1
    dc1.ok("PUT", "/logs/_settings", {"index.blocks.write": True})
    blocks = dc1.ok("GET", "/_cluster/state/blocks")["blocks"]["indices"]["logs"]
    assert blocks == {"8": {"description": "index write (api)", "retryable": False, "levels": ["write"]}}
    # unknown metrics are ignored (RestClusterStateAction: parseString(..., ignoreUnknown=true))
    assert dc1.ok("GET", "/_cluster/state/bogus,master_node") == {
        "cluster_name": "dc1", "cluster_uuid": full["cluster_uuid"], "master_node": full["master_node"]}


def test_recovery_of_a_restored_index(pair):
    # indices.recovery/10_basic.yml, docs/reference/indices/recovery.asciidoc
    dc1, dc2 = pair
    dc1.create_index("logs", shards=1, replicas=1)
    dc1.bulk_index("logs", {i: {"pad": "r" * 400} for i in range(60)})
    created = dc1.ok("GET", "/logs/_recovery")["logs"]["shards"]
    assert [(s["type"], s["primary"]) for s in created] == [("EMPTY_STORE", True), ("PEER", False)]
    register(dc1)
    register(dc2, readonly=True)
    dc1.ok("PUT", "/_snapshot/haes/s1?wait_for_completion=true", {})
    dc2.set_snapshot_speed(15_000)
    dc2.ok("POST", "/_snapshot/haes/s1/_restore", {"rename_pattern": "(.+)", "rename_replacement": "r-$1"})
    active = dc2.ok("GET", "/r-logs/_recovery?active_only=true")["r-logs"]["shards"]
    assert [(s["type"], s["stage"]) for s in active] == [("SNAPSHOT", "INDEX")]
    dc2.health(wait_for_status="green", timeout="20s")
    shards = dc2.ok("GET", "/r-logs/_recovery")["r-logs"]["shards"]
    primary = shards[0]
    assert primary["type"] == "SNAPSHOT" and primary["stage"] == "DONE" and primary["primary"] is True
    assert primary["source"]["repository"] == "haes" and primary["source"]["snapshot"] == "s1"
    assert primary["source"]["index"] == "logs" and len(primary["source"]["restoreUUID"]) == 22
    assert primary["index"]["size"]["percent"] == "100.0%" and primary["index"]["files"]["total"] >= 1
    assert {"id", "host", "transport_address", "ip", "name"} == set(primary["target"])
    assert shards[1]["type"] == "PEER" and shards[1]["primary"] is False
    assert dc2.ok("GET", "/r-logs/_recovery?active_only=true") == {"r-logs": {"shards": []}}
    assert "r-logs" in dc2.ok("GET", "/_recovery")


def test_cat_snapshots_and_repositories(pair):
    # cat.snapshots/10_basic.yml, cat.repositories/10_basic.yml
    dc1, _ = pair
    assert dc1.es("GET", "/_cat/repositories")[1] == ""
    register(dc1)
    dc1.ok("PUT", "/_snapshot/other", {"type": "fs", "settings": {"location": "other"}})
    dc1.create_index("logs", shards=2)
    dc1.ok("PUT", "/_snapshot/haes/s1?wait_for_completion=true", {})
    text = dc1.es("GET", "/_cat/repositories?v")[1]
    assert [line.split() for line in text.splitlines()] == [["id", "type"], ["haes", "fs"], ["other", "fs"]]
    assert dc1.ok("GET", "/_cat/repositories?format=json") == [{"id": "haes", "type": "fs"},
                                                                {"id": "other", "type": "fs"}]
    rows = dc1.ok("GET", "/_cat/snapshots/haes?format=json")
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == ["id", "repository", "status", "start_epoch", "start_time", "end_epoch", "end_time",
                         "duration", "indices", "successful_shards", "failed_shards", "total_shards"]
    assert row["id"] == "s1" and row["repository"] == "haes" and row["status"] == "SUCCESS"
    assert row["indices"] == "1" and row["total_shards"] == "2" and row["failed_shards"] == "0"
    assert len(row["start_time"]) == 8 and row["start_time"].count(":") == 2
    text = dc1.es("GET", "/_cat/snapshots/haes?v")[1].splitlines()
    assert text[0].split()[:3] == ["id", "repository", "status"] and text[1].split()[:3] == ["s1", "haes", "SUCCESS"]
    assert dc1.es("GET", "/_cat/snapshots/other")[1] == ""
    status, err = dc1.es("GET", "/_cat/snapshots/nope")
    assert status == 404 and err["error"]["type"] == "repository_missing_exception"
    assert [r["id"] for r in dc1.ok("GET", "/_cat/snapshots?format=json&h=id,repository")] == ["s1"]


def test_alias_existence_and_get(dc1):
    # indices.exists_alias/10_basic.yml, indices.get_alias/10_basic.yml
    dc1.create_index("a")
    dc1.create_index("b")
    dc1.ok("POST", "/_aliases", {"actions": [{"add": {"index": "a", "alias": "live", "is_write_index": True}}]})
    for path, expected in (("/_alias/live", 200), ("/_alias/nope", 404), ("/a/_alias/live", 200),
                           ("/b/_alias/live", 404)):
        with_body = urllib.request.Request(dc1.url() + path, method="HEAD")
        try:
            with urllib.request.urlopen(with_body, timeout=5) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        assert (status, body) == (expected, b""), path
    assert dc1.ok("GET", "/_alias/live") == {"a": {"aliases": {"live": {"is_write_index": True}}}}
    assert dc1.ok("GET", "/b/_alias") == {"b": {"aliases": {}}}
    status, body = dc1.es("GET", "/_alias/nope")
    assert status == 404 and body == {"error": "alias [nope] missing", "status": 404}
    status, body = dc1.es("GET", "/_alias/live,nope")
    assert status == 404 and body["error"] == "alias [nope] missing" and "a" in body


def test_cat_indices_columns_filters_and_sorting(dc1):
    # cat.indices/10_basic.yml (h, health, bytes), cat.indices/20_hidden.yml, RestTable (s, v)
    dc1.create_index("big", shards=1, replicas=0)
    dc1.create_index("small", shards=2, replicas=0)
    dc1.create_index("unsafe", shards=1, replicas=5)  # yellow
    dc1.bulk_index("big", {i: {"pad": "x" * 300} for i in range(20)})
    dc1.bulk_index("small", {1: {"a": 1}})
    rows = dc1.ok("GET", "/_cat/indices?format=json&h=index,docs.count&s=docs.count:desc")
    assert rows == [{"index": "big", "docs.count": "20"}, {"index": "small", "docs.count": "1"},
                    {"index": "unsafe", "docs.count": "0"}]
    assert [r["i"] if "i" in r else r["index"] for r in
            dc1.ok("GET", "/_cat/indices?format=json&h=i&s=i:desc")] == ["unsafe", "small", "big"]
    assert dc1.ok("GET", "/_cat/indices?format=json&h=index&health=yellow") == [{"index": "unsafe"}]
    assert dc1.ok("GET", "/_cat/indices?format=json&h=index&health=red") == []
    status, err = dc1.es("GET", "/_cat/indices?health=purple")
    assert status == 400 and err["error"]["type"] == "illegal_argument_exception"
    sizes = dc1.ok("GET", "/_cat/indices?format=json&h=index,store.size&bytes=b&s=store.size")
    assert [r["index"] for r in sizes] == ["unsafe", "small", "big"]
    assert all(r["store.size"].isdigit() for r in sizes)
    human = dc1.ok("GET", "/_cat/indices/big?format=json&h=store.size")[0]["store.size"]
    assert human.endswith("kb")
    text = dc1.es("GET", "/_cat/indices?v&h=health,index,pri,docs.count&s=index")[1].splitlines()
    assert text[0].split() == ["health", "index", "pri", "docs.count"]
    assert [line.split() for line in text[1:]] == [["green", "big", "1", "20"], ["green", "small", "2", "1"],
                                                   ["yellow", "unsafe", "1", "0"]]
    widths = {len(line) for line in text}
    assert len(widths) == 1  # aligned columns
    status, err = dc1.es("GET", "/_cat/indices?s=nope")
    assert status == 500 and err["error"]["reason"] == "Unable to sort by unknown sort key `nope`"
    default = dc1.ok("GET", "/_cat/indices?format=json")[0]
    assert list(default) == ["health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted",
                             "store.size", "pri.store.size", "dataset.size"]


def test_health_wait_times_out_with_408(dc1):
    # cluster.health/20_request_timeout.yml: 408, timed_out true, the full body
    dc1.create_index("logs", shards=1, replicas=5)
    started = time.monotonic()
    status, body = dc1.es("GET", "/_cluster/health?wait_for_status=green&timeout=300ms")
    took = time.monotonic() - started
    assert status == 408 and body["timed_out"] is True and body["status"] == "yellow"
    assert 0.3 <= took < 5
    assert "unassigned_shards" in body and "active_shards_percent_as_number" in body
    status, body = dc1.es("GET", "/_cluster/health/logs?wait_for_status=yellow&timeout=1s")
    assert status == 200 and body["timed_out"] is False
    status, body = dc1.es("GET", "/_cluster/health?wait_for_status=green&timeout=1s&level=indices")
    assert status == 408 and body["indices"]["logs"]["status"] == "yellow"
