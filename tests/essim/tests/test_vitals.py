"""Cluster vitals: node disk and heap (_nodes/stats), the disk watermarks
and their flood-stage block, the shard limit, and the cluster settings API
they are set through. Each test names the ES 8 reference it checks."""

import json

READ_ONLY_ALLOW_DELETE = ("index [{}] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage "
                          "watermark, index has read-only-allow-delete block];")


def test_nodes_stats_fs_and_jvm_shapes(dc1):
    # docs/reference/cluster/nodes-stats.asciidoc; NodeStats.toXContent (name,
    # transport_address, host, ip with port, roles), FsInfo and JvmStats fields.
    body = dc1.ok("GET", "/_nodes/stats/fs,jvm")
    assert body["_nodes"] == {"total": 3, "successful": 3, "failed": 0}
    assert body["cluster_name"] == "dc1"
    assert len(body["nodes"]) == 3
    for node_id, node in body["nodes"].items():
        assert len(node_id) == 22
        assert {"timestamp", "name", "transport_address", "host", "ip", "roles", "fs", "jvm"} <= set(node)
        assert "indices" not in node and "os" not in node  # only the metrics asked for
        assert node["ip"].startswith("127.0.0.1:") and "remote_cluster_client" in node["roles"]
        total = node["fs"]["total"]
        assert set(total) == {"total_in_bytes", "free_in_bytes", "available_in_bytes"}
        assert total["total_in_bytes"] == 100 * 1024 ** 3  # default: a 100 GiB disk, 30% used
        assert total["available_in_bytes"] == 70 * 1024 ** 3
        assert node["fs"]["data"][0]["total_in_bytes"] == total["total_in_bytes"]
        mem = node["jvm"]["mem"]
        assert mem["heap_max_in_bytes"] == 1024 ** 3 and mem["heap_used_percent"] == 30
        assert mem["heap_used_in_bytes"] == -(-3 * 1024 ** 3 // 10)
        assert isinstance(mem["heap_used_percent"], int)
    everything = dc1.ok("GET", "/_nodes/stats")
    node = next(iter(everything["nodes"].values()))
    assert {"indices", "os", "process", "jvm", "fs"} <= set(node)
    status, err = dc1.es("GET", "/_nodes/stats/fs,bogus")
    assert status == 400 and err["error"]["type"] == "illegal_argument_exception"
    assert err["error"]["reason"] == "request [/_nodes/stats/fs,bogus] contains unrecognized metric: [bogus]"


def test_node_selection_and_control_of_disk_and_heap(dc1):
    dc1.set_disk("dc1-n2", used_percent=87.5, total_bytes=200 * 1024 ** 3)
    dc1.set_heap("dc1-n2", used_percent=91)
    one = dc1.ok("GET", "/_nodes/dc1-n2/stats/fs,jvm")
    assert one["_nodes"]["total"] == 1
    (node,) = one["nodes"].values()
    assert node["name"] == "dc1-n2"
    assert node["fs"]["total"]["total_in_bytes"] == 200 * 1024 ** 3
    assert node["fs"]["total"]["available_in_bytes"] == 25 * 1024 ** 3
    assert node["jvm"]["mem"]["heap_used_percent"] == 91
    local = dc1.ok("GET", "/_nodes/_local/stats/jvm", node="dc1-n3")
    assert [n["name"] for n in local["nodes"].values()] == ["dc1-n3"]
    assert dc1.ok("GET", "/_cat/nodes?format=json&h=name,heap.percent") is not None
    cat = {n["name"]: n["heap.percent"] for n in dc1.ok("GET", "/_cat/nodes?format=json")}
    assert cat["dc1-n2"] == "91" and cat["dc1-n1"] == "30"
    state = dc1.state()["nodes"]["dc1-n2"]
    assert state["disk"]["used_percent"] == 87.5 and state["heap"]["used_percent"] == 91
    from haestest.essim import EssimError
    for bad in ({"used_percent": 101}, {"used_bytes": -1}, {}):
        try:
            dc1.control("/nodes/dc1-n2/disk", bad, "POST")
            raise AssertionError(f"{bad} accepted")
        except EssimError as e:
            assert e.status == 400


def test_watermark_defaults_and_settings_api(dc1):
    # docs/reference/modules/cluster/disk_allocator.asciidoc (defaults 85/90/95%,
    # max_headroom 200/150/100GB while the watermarks are not set);
    # cluster.get_settings with include_defaults and flat_settings.
    body = dc1.ok("GET", "/_cluster/settings?include_defaults=true&flat_settings=true")
    assert body["persistent"] == {} and body["transient"] == {}
    d = body["defaults"]
    assert d["cluster.routing.allocation.disk.watermark.low"] == "85%"
    assert d["cluster.routing.allocation.disk.watermark.high"] == "90%"
    assert d["cluster.routing.allocation.disk.watermark.flood_stage"] == "95%"
    assert d["cluster.routing.allocation.disk.watermark.flood_stage.max_headroom"] == "100gb"
    assert d["cluster.max_shards_per_node"] == "1000"
    nested = dc1.ok("GET", "/_cluster/settings?include_defaults=true")["defaults"]
    watermark = nested["cluster"]["routing"]["allocation"]["disk"]["watermark"]
    # Settings.toXContent: a key that is both a value and a prefix keeps its
    # longer keys dotted at that level.
    assert watermark["low"] == "85%" and watermark["low.max_headroom"] == "200gb"
    out = dc1.ok("PUT", "/_cluster/settings",
                 {"persistent": {"cluster.routing.allocation.disk.watermark.flood_stage": "97%"},
                  "transient": {"cluster": {"max_shards_per_node": 5}}})
    assert out == {"acknowledged": True,
                   "persistent": {"cluster": {"routing": {"allocation": {"disk": {"watermark": {
                       "flood_stage": "97%"}}}}}},
                   "transient": {"cluster": {"max_shards_per_node": "5"}}}
    flat = dc1.ok("GET", "/_cluster/settings?flat_settings=true&include_defaults=true")
    assert flat["persistent"] == {"cluster.routing.allocation.disk.watermark.flood_stage": "97%"}
    assert flat["transient"] == {"cluster.max_shards_per_node": "5"}
    # once a watermark is set, the headroom defaults turn off (DiskThresholdSettings)
    assert flat["defaults"]["cluster.routing.allocation.disk.watermark.flood_stage.max_headroom"] == "-1"
    assert "cluster.max_shards_per_node" not in flat["defaults"]
    dc1.ok("PUT", "/_cluster/settings", {"persistent": {"cluster.routing.allocation.disk.watermark.*": None},
                                         "transient": {"cluster.max_shards_per_node": None}})
    assert dc1.ok("GET", "/_cluster/settings") == {"persistent": {}, "transient": {}}
    status, err = dc1.es("PUT", "/_cluster/settings",
                         {"persistent": {"cluster.routing.allocation.disk.watermark.low": "96%"}})
    assert status == 400 and err["error"]["type"] == "illegal_argument_exception"
    assert err["error"]["reason"] == ("illegal value can't update [cluster.routing.allocation.disk.watermark.low] "
                                      "from [85%] to [96%]")
    assert err["error"]["caused_by"]["reason"] == "low disk watermark [96%] more than high disk watermark [90%]"
    status, err = dc1.es("PUT", "/_cluster/settings",
                         {"persistent": {"cluster.routing.allocation.disk.watermark.high": "10gb"}})
    assert status == 400 and "as percentage or bytes" in err["error"]["caused_by"]["reason"]
    assert dc1.ok("GET", "/_cluster/settings") == {"persistent": {}, "transient": {}}  # nothing applied
    status, err = dc1.es("PUT", "/_cluster/settings", {"persistent": {}})
    assert status == 400 and err["error"]["reason"] == "Validation Failed: 1: no settings to update;"


def test_flood_stage_blocks_indices_on_that_node_and_releases_below_high(dc1):
    # disk_allocator.asciidoc: over flood_stage, index.blocks.read_only_allow_delete
    # on every index with a shard on the node; released automatically once the
    # disk is below the high watermark. IndexMetadata.INDEX_READ_ONLY_ALLOW_DELETE_BLOCK:
    # id 12, 429 TOO_MANY_REQUESTS.
    dc1.create_index("wide", shards=3, replicas=0)    # a shard on each node
    dc1.create_index("narrow", shards=1, replicas=0)  # one shard, on dc1-n1
    dc1.bulk_index("wide", {1: {"a": 1}})
    dc1.set_disk("dc1-n3", used_percent=96)
    status, err = dc1.es("PUT", "/wide/_doc/2", {"a": 2})
    assert status == 429
    assert err["error"]["type"] == "cluster_block_exception" and err["status"] == 429
    assert err["error"]["reason"] == READ_ONLY_ALLOW_DELETE.format("wide")
    assert dc1.es("PUT", "/narrow/_doc/1", {"a": 1})[0] == 201
    settings = dc1.ok("GET", "/wide/_settings")["wide"]["settings"]["index"]
    assert settings["blocks"] == {"read_only_allow_delete": "true"}
    body = "\n".join([json.dumps({"index": {"_index": "wide", "_id": "9"}}), json.dumps({"a": 9})]) + "\n"
    status, out = dc1.es("POST", "/_bulk", body)
    assert status == 200 and out["errors"] is True and out["items"][0]["index"]["status"] == 429
    assert dc1.count("wide") == 1  # reads still work
    # between high and flood_stage: the block stays
    dc1.set_disk("dc1-n3", used_percent=92)
    assert dc1.es("PUT", "/wide/_doc/2", {"a": 2})[0] == 429
    # below high: released
    dc1.set_disk("dc1-n3", used_percent=80)
    assert dc1.es("PUT", "/wide/_doc/2", {"a": 2})[0] == 201
    assert "blocks" not in dc1.ok("GET", "/wide/_settings")["wide"]["settings"]["index"]
    # the block allows deletes (of the index too) and refuses other metadata writes
    dc1.set_disk("dc1-n3", used_percent=99)
    status, err = dc1.es("PUT", "/wide/_settings", {"index.number_of_replicas": 1})
    assert status == 429 and err["error"]["type"] == "cluster_block_exception"
    assert dc1.es("DELETE", "/wide")[0] == 200


def test_flood_stage_follows_the_settings_and_the_default_headroom(dc1):
    dc1.create_index("logs", shards=1, replicas=0)
    # a 10 TiB disk 96% used still has 400+ GiB free: over 95%, but the default
    # 100GB max headroom caps the free space the flood stage asks for
    dc1.set_disk("dc1-n1", used_percent=96, total_bytes=10 * 1024 ** 4)
    assert dc1.es("PUT", "/logs/_doc/1", {"a": 1})[0] == 201
    # an explicit flood_stage turns the default headroom off: now it bites
    dc1.ok("PUT", "/_cluster/settings", {"persistent": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%"}})
    assert dc1.es("PUT", "/logs/_doc/2", {"a": 2})[0] == 429
    # absolute watermarks are free bytes
    dc1.ok("PUT", "/_cluster/settings", {"persistent": {
        "cluster.routing.allocation.disk.watermark.low": "300gb",
        "cluster.routing.allocation.disk.watermark.high": "200gb",
        "cluster.routing.allocation.disk.watermark.flood_stage": "100gb"}})
    assert dc1.es("PUT", "/logs/_doc/2", {"a": 2})[0] == 201  # 409 GiB free: below no watermark
    dc1.ok("PUT", "/_cluster/settings", {"transient": {"cluster.routing.allocation.disk.threshold_enabled": False}})
    dc1.set_disk("dc1-n1", used_percent=100)
    assert dc1.es("PUT", "/logs/_doc/3", {"a": 3})[0] == 201  # the monitor is off


def test_max_shards_per_node_on_create_and_open(dc1):
    # ShardLimitValidator: max_shards_per_node x data nodes, counting open
    # indices' primaries and replicas; ValidationException (400).
    dc1.ok("PUT", "/_cluster/settings", {"persistent": {"cluster.max_shards_per_node": 2}})  # 3 nodes: 6
    dc1.create_index("a", shards=2, replicas=1)  # 4
    dc1.create_index("b", shards=1, replicas=1)  # 6
    status, err = dc1.es("PUT", "/c", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert status == 400 and err["error"]["type"] == "validation_exception"
    assert err["error"]["reason"] == ("Validation Failed: 1: this action would add [1] shards, but this cluster "
                                      "currently has [6]/[6] maximum normal shards open;")
    dc1.ok("POST", "/b/_close")  # closed indices do not count
    dc1.create_index("c", shards=1, replicas=0)
    status, err = dc1.es("POST", "/b/_open")
    assert status == 400 and "would add [2] shards, but this cluster currently has [5]/[6]" in err["error"]["reason"]
    status, err = dc1.es("PUT", "/c/_settings", {"index.number_of_replicas": 2})
    assert status == 400 and "would add [2] shards, but this cluster currently has [5]/[6]" in err["error"]["reason"]
    # a write that would auto-create an index is refused the same way
    dc1.create_index("d", shards=1, replicas=0)
    status, err = dc1.es("PUT", "/auto/_doc/1", {"a": 1})
    assert status == 400 and err["error"]["type"] == "validation_exception"


def test_cluster_health_has_every_es8_field(dc1):
    # docs/reference/cluster/health.asciidoc, 8.17 (unassigned_primary_shards since 8.16)
    dc1.create_index("logs", shards=1, replicas=5)
    body = dc1.health()
    assert set(body) == {"cluster_name", "status", "timed_out", "number_of_nodes", "number_of_data_nodes",
                         "active_primary_shards", "active_shards", "relocating_shards", "initializing_shards",
                         "unassigned_shards", "unassigned_primary_shards", "delayed_unassigned_shards",
                         "number_of_pending_tasks", "number_of_in_flight_fetch",
                         "task_max_waiting_in_queue_millis", "active_shards_percent_as_number"}
    assert body["unassigned_shards"] == 3 and body["active_shards"] == 3
    assert body["active_shards_percent_as_number"] == 50.0
