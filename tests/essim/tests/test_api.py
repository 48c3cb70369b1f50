"""Response shapes and errors of the ES 8 REST API that haes uses.

Each test names the reference it checks against: the ES reference docs
(docs/reference/...) or a rest-api-spec YAML test, as summarised in the
project's ES reference notes."""

import json
import urllib.request


def test_root_shape(dc1):
    # docs/reference/rest-api/root.asciidoc (GET /)
    status, body = dc1.es("GET", "/")
    assert status == 200
    assert set(body) == {"name", "cluster_name", "cluster_uuid", "version", "tagline"}
    assert body["cluster_name"] == "dc1"
    assert len(body["cluster_uuid"]) == 22
    assert body["version"]["number"].startswith("8.")
    for key in ("build_flavor", "build_type", "build_hash", "build_date", "build_snapshot",
                "lucene_version", "minimum_wire_compatibility_version",
                "minimum_index_compatibility_version"):
        assert key in body["version"]
    assert body["tagline"] == "You Know, for Search"


def test_product_header_and_head(dc1):
    with urllib.request.urlopen(urllib.request.Request(dc1.url() + "/", method="HEAD"), timeout=5) as r:
        assert r.status == 200
        assert r.headers["X-elastic-product"] == "Elasticsearch"
        assert r.read() == b""


def test_cluster_health_shape_and_levels(dc1):
    # docs/reference/cluster/health.asciidoc; unassigned_primary_shards since 8.16
    dc1.create_index("logs", shards=2, replicas=1)
    body = dc1.health()
    assert body["status"] == "green"
    for key in ("cluster_name", "status", "timed_out", "number_of_nodes", "number_of_data_nodes",
                "active_primary_shards", "active_shards", "relocating_shards", "initializing_shards",
                "unassigned_shards", "unassigned_primary_shards", "delayed_unassigned_shards",
                "number_of_pending_tasks", "number_of_in_flight_fetch",
                "task_max_waiting_in_queue_millis", "active_shards_percent_as_number"):
        assert key in body, key
    assert body["active_primary_shards"] == 2 and body["active_shards"] == 4
    assert body["number_of_nodes"] == 3
    indices = dc1.health(level="indices")["indices"]
    assert indices["logs"]["number_of_shards"] == 2
    shards = dc1.health(level="shards")["indices"]["logs"]["shards"]
    assert shards["0"]["primary_active"] is True
    status, err = dc1.es("GET", "/_cluster/health?level=bogus")
    assert status == 400 and err["error"]["type"] == "illegal_argument_exception"


def test_health_wait_for_status_times_out_with_408(dc1):
    # ClusterHealthResponse.status(): 408 with timed_out=true (cluster.health/20_request_timeout.yml)
    dc1.create_index("logs", shards=1, replicas=5)  # replicas cannot all be placed: yellow
    status, body = dc1.es("GET", "/_cluster/health?wait_for_status=green&timeout=200ms")
    assert status == 408
    assert body["timed_out"] is True and body["status"] == "yellow"
    status, body = dc1.es("GET", "/_cluster/health?wait_for_status=yellow&timeout=1s")
    assert status == 200 and body["timed_out"] is False


def test_nodes_and_cat(dc1):
    # docs/reference/cluster/nodes-info.asciidoc; cat.indices/10_basic.yml (string values)
    body = dc1.ok("GET", "/_nodes/_local")
    assert body["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    (node,) = body["nodes"].values()
    assert node["name"] == "dc1-n1" and "master" in node["roles"]
    dc1.create_index("logs")
    dc1.bulk_index("logs", {i: {"n": i} for i in range(3)})
    rows = dc1.ok("GET", "/_cat/indices?format=json")
    assert rows[0]["index"] == "logs" and rows[0]["docs.count"] == "3" and rows[0]["pri"] == "1"
    assert all(isinstance(v, str) for v in rows[0].values())
    nodes = dc1.ok("GET", "/_cat/nodes?format=json")
    assert sorted(n["name"] for n in nodes) == ["dc1-n1", "dc1-n2", "dc1-n3"]
    assert sum(n["master"] == "*" for n in nodes) == 1


def test_documents_bulk_count_search(dc1):
    # docs/reference/docs/bulk.asciidoc, search/count.asciidoc, search/search.asciidoc
    dc1.create_index("logs", shards=2)
    out = dc1.bulk_index("logs", {i: {"msg": f"m{i}"} for i in range(25)})
    item = out["items"][0]["index"]
    assert item["status"] == 201 and item["result"] == "created" and item["_shards"]["total"] == 2
    assert dc1.count("logs") == 25
    res = dc1.ok("POST", "/logs/_search", {"query": {"match_all": {}}, "size": 5, "from": 20})
    assert res["hits"]["total"] == {"value": 25, "relation": "eq"}
    assert len(res["hits"]["hits"]) == 5
    res = dc1.ok("POST", "/logs/_search", {"query": {"ids": {"values": ["3", "7", "nope"]}}})
    assert sorted(h["_id"] for h in res["hits"]["hits"]) == ["3", "7"]
    status, doc = dc1.es("GET", "/logs/_doc/3")
    assert status == 200 and doc["found"] and doc["_source"] == {"msg": "m3"}
    status, doc = dc1.es("GET", "/logs/_doc/999")
    assert status == 404 and doc["found"] is False
    status, out = dc1.es("PUT", "/logs/_doc/3", {"msg": "again"})
    assert status == 200 and out["result"] == "updated" and out["_version"] == 2
    assert dc1.count("logs") == 25
    status, out = dc1.es("DELETE", "/logs/_doc/3")
    assert status == 200 and out["result"] == "deleted"
    assert dc1.count("logs") == 24


def test_bulk_item_errors_are_per_item_with_200(dc1):
    # bulk: a write block gives status 403 cluster_block_exception in the item, errors:true, HTTP 200
    dc1.create_index("blocked")
    dc1.ok("PUT", "/blocked/_settings", {"index.blocks.write": True})
    body = "\n".join([json.dumps({"index": {"_index": "blocked", "_id": "1"}}), json.dumps({"a": 1}),
                      json.dumps({"index": {"_index": "fine", "_id": "1"}}), json.dumps({"a": 1})]) + "\n"
    status, out = dc1.es("POST", "/_bulk", body)
    assert status == 200 and out["errors"] is True
    err = out["items"][0]["index"]
    assert err["status"] == 403
    assert err["error"]["type"] == "cluster_block_exception"
    assert err["error"]["reason"] == "index [blocked] blocked by: [FORBIDDEN/8/index write (api)];"
    assert out["items"][1]["index"]["status"] == 201


def test_blocks_close_open_and_their_errors(dc1):
    # indices.open/10_basic.yml; ES-REFERENCE §1.11-1.12
    dc1.create_index("logs")
    dc1.bulk_index("logs", {1: {"a": 1}})
    dc1.ok("PUT", "/logs/_settings", {"index": {"blocks": {"write": True}}})
    status, err = dc1.es("PUT", "/logs/_doc/2", {"a": 2})
    assert status == 403 and err["error"]["type"] == "cluster_block_exception" and err["status"] == 403
    dc1.ok("PUT", "/logs/_settings", {"index.blocks.write": None})
    assert dc1.es("PUT", "/logs/_doc/2", {"a": 2})[0] == 201
    out = dc1.ok("POST", "/logs/_close")
    assert out == {"acknowledged": True, "shards_acknowledged": True, "indices": {"logs": {"closed": True}}}
    status, err = dc1.es("GET", "/logs/_search")
    assert status == 400 and err["error"]["type"] == "index_closed_exception"
    assert dc1.ok("POST", "/logs/_open") == {"acknowledged": True, "shards_acknowledged": True}
    assert dc1.count("logs") == 2
    status, err = dc1.es("POST", "/_all/_close")
    assert status == 400 and err["error"]["reason"] == "Wildcard expressions or all indices are not allowed"


def test_aliases_are_atomic(dc1):
    # docs/reference/indices/aliases.asciidoc
    dc1.create_index("a")
    dc1.create_index("b")
    dc1.ok("POST", "/_aliases", {"actions": [{"add": {"index": "a", "alias": "live"}}]})
    assert dc1.count("live") == 0
    status, err = dc1.es("POST", "/_aliases", {"actions": [{"remove": {"index": "a", "alias": "live"}},
                                                           {"add": {"index": "missing", "alias": "live"}}]})
    assert status == 404 and err["error"]["type"] == "index_not_found_exception"
    assert "live" in dc1.ok("GET", "/_aliases")["a"]["aliases"]  # nothing applied
    dc1.ok("POST", "/_aliases", {"actions": [{"remove": {"index": "a", "alias": "live"}},
                                             {"add": {"index": "b", "alias": "live", "is_write_index": True}}]})
    aliases = dc1.ok("GET", "/_aliases")
    assert "live" in aliases["b"]["aliases"] and "live" not in aliases["a"]["aliases"]


def test_error_shapes(dc1):
    # ElasticsearchException body; RestController for unknown paths and methods
    status, err = dc1.es("GET", "/nope/_count")
    assert status == 404
    assert err["error"]["root_cause"][0]["type"] == "index_not_found_exception"
    assert err["error"]["reason"] == "no such index [nope]"
    assert err["status"] == 404
    status, err = dc1.es("POST", "/_cluster/health")
    assert status == 405 and err["error"].startswith("Incorrect HTTP method for uri [/_cluster/health]")
    status, err = dc1.es("GET", "/_nope/x/y/z")
    assert status == 400 and err["error"] == "no handler found for uri [/_nope/x/y/z] and method [GET]"
    status, err = dc1.es("PUT", "/Bad")
    assert status == 400 and err["error"]["type"] == "invalid_index_name_exception"
    dc1.create_index("dup")
    status, err = dc1.es("PUT", "/dup")
    assert status == 400 and err["error"]["type"] == "resource_already_exists_exception"
    status, err = dc1.es("POST", "/logs/_search", b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400 and "parse" in err["error"]["type"]


def test_flavors_change_the_shapes(procs, tmp_path):
    from haestest.essim import EssimCluster
    es7 = EssimCluster.start(procs, "old", nodes=1, repo_root=tmp_path / "r", flavor="es7")
    assert es7.ok("GET", "/")["version"]["number"].startswith("7.")
    assert "unassigned_primary_shards" not in es7.health()
    os2 = EssimCluster.start(procs, "os", nodes=1, repo_root=tmp_path / "r", flavor="opensearch2")
    root = os2.ok("GET", "/")
    assert root["version"]["distribution"] == "opensearch"
    assert "build_flavor" not in root["version"]
    assert os2.health()["discovered_cluster_manager"] is True
