"""Composable index templates, data streams and their cross-cluster
replication, checked against ES 8: the data-streams REST tests
(10_basic.yml, 20_unsupported_apis.yml, 30_auto_create_data_stream.yml), the
index-template and rollover API reference pages, MetadataCreateDataStreamService,
MetadataRolloverService, MetadataDeleteIndexService, MetadataIndexStateService,
TransportBulkAction, and CCR's AutoFollowIT data stream tests with
TransportPutFollowAction.updateLocalDataStream."""

import json
import re
import time

from haestest.proc import holds_for, wait_for

FOLLOWING_ENGINE = "a following engine does not accept operations without an assigned sequence number"
TEMPLATE = {"index_patterns": ["logs-*"], "data_stream": {}, "priority": 100,
            "template": {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}}
STAMP = "2026-12-03T10:00:00Z"


def today() -> set:
    """The UTC dates a backing index created around now may carry."""
    now = time.time()
    return {time.strftime("%Y.%m.%d", time.gmtime(t)) for t in (now - 5, now, now + 5)}


def backing(name: str, generation: int, date: str) -> str:
    return f".ds-{name}-{date}-{generation:06d}"


def error(cluster, method, path, body=None):
    status, out = cluster.es(method, path, body)
    assert isinstance(out, dict) and "error" in out, (status, out)
    return status, out["error"]["type"], out["error"]["reason"]


def stream(cluster, name="logs-app"):
    return cluster.ok("GET", f"/_data_stream/{name}")["data_streams"][0]


def names(ds) -> list:
    return [i["index_name"] for i in ds["indices"]]


def ndjson(*lines) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def test_index_templates(dc1):
    # indices.put_index_template / get_index_template / delete_index_template;
    # ComposableIndexTemplate.toXContent, MetadataIndexTemplateService
    assert dc1.ok("GET", "/_index_template") == {"index_templates": []}
    assert error(dc1, "PUT", "/_index_template/bad", {"priority": 1}) == (
        400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
    assert error(dc1, "PUT", "/_index_template/bad", {"index_patterns": ["x"], "nope": 1})[:2] == (
        400, "x_content_parse_exception")
    assert dc1.ok("PUT", "/_index_template/logs", TEMPLATE) == {"acknowledged": True}
    dc1.ok("PUT", "/_index_template/plain", {"index_patterns": "plain-*"})
    got = dc1.ok("GET", "/_index_template/logs")
    assert got == {"index_templates": [{"name": "logs", "index_template": {
        "index_patterns": ["logs-*"],
        "template": {"settings": {"index": {"number_of_replicas": "0", "number_of_shards": "2"}}},
        "composed_of": [], "priority": 100,
        "data_stream": {"hidden": False, "allow_custom_routing": False}}}]}
    assert [t["name"] for t in dc1.ok("GET", "/_index_template")["index_templates"]] == ["logs", "plain"]
    assert dc1.ok("GET", "/_index_template/plain")["index_templates"][0]["index_template"] == {
        "index_patterns": ["plain-*"], "composed_of": []}
    assert dc1.ok("GET", "/_index_template/nothing*") == {"index_templates": []}
    assert error(dc1, "GET", "/_index_template/nope") == (
        404, "resource_not_found_exception", "index template matching [nope] not found")
    assert dc1.es("HEAD", "/_index_template/logs")[0] == 200
    assert dc1.es("HEAD", "/_index_template/nope")[0] == 404
    # two templates of one priority may not match one name
    status, etype, reason = error(dc1, "PUT", "/_index_template/clash",
                                  {"index_patterns": ["logs-app*"], "priority": 100})
    assert (status, etype) == (400, "illegal_argument_exception")
    assert reason == ("index template [clash] has index patterns [logs-app*] matching patterns from existing "
                      "templates [logs] with patterns (logs => [logs-*]) that have the same priority [100], multiple "
                      "index templates may not match during index creation, please use a different priority")
    dc1.ok("PUT", "/_index_template/clash", {"index_patterns": ["logs-app*"], "priority": 50})
    # a template a data stream needs stays; deleting a missing one is 404
    dc1.ok("PUT", "/_data_stream/logs-app")
    dc1.ok("DELETE", "/_index_template/clash")
    assert error(dc1, "DELETE", "/_index_template/logs") == (
        400, "illegal_argument_exception",
        "unable to remove composable templates [logs] as they are in use by a data streams [logs-app]")
    assert error(dc1, "DELETE", "/_index_template/nope") == (
        404, "index_template_missing_exception", "index_template [nope] missing")
    dc1.ok("DELETE", "/_data_stream/logs-app")
    assert dc1.ok("DELETE", "/_index_template/logs") == {"acknowledged": True}
    assert [t["name"] for t in dc1.ok("GET", "/_index_template")["index_templates"]] == ["plain"]
    meta = dc1.ok("GET", "/_cluster/state/metadata")["metadata"]
    assert list(meta["index_template"]["index_template"]) == ["plain"]


def test_create_write_count_rollover_get_delete(dc1):
    # data_stream/10_basic.yml, 20_unsupported_apis.yml; DataStreamInfo
    dc1.ok("PUT", "/_index_template/logs", TEMPLATE)
    assert error(dc1, "PUT", "/_data_stream/metrics-x") == (
        400, "illegal_argument_exception", "no matching index template found for data stream [metrics-x]")
    assert dc1.ok("PUT", "/_data_stream/logs-app") == {"acknowledged": True}
    assert error(dc1, "PUT", "/_data_stream/logs-app") == (
        400, "resource_already_exists_exception", "data_stream [logs-app] already exists")
    ds = stream(dc1)
    first = names(ds)[0]
    assert first in {backing("logs-app", 1, d) for d in today()}
    idx = dc1.ok("GET", f"/{first}")[first]
    assert idx["data_stream"] == "logs-app"
    assert idx["settings"]["index"]["hidden"] == "true"
    assert idx["settings"]["index"]["number_of_shards"] == "2"
    assert idx["settings"]["index"]["number_of_replicas"] == "0"
    assert ds == {"name": "logs-app", "timestamp_field": {"name": "@timestamp"},
                  "indices": [{"index_name": first, "index_uuid": idx["settings"]["index"]["uuid"],
                               "prefer_ilm": True, "managed_by": "Unmanaged"}],
                  "generation": 1, "status": "GREEN", "template": "logs", "next_generation_managed_by": "Unmanaged",
                  "prefer_ilm": True, "hidden": False, "system": False, "allow_custom_routing": False,
                  "replicated": False, "rollover_on_write": False}
    # writes: only op_type create, into the write index; @timestamp required
    status, out = dc1.es("POST", "/logs-app/_doc", {"@timestamp": STAMP, "n": 1})
    assert status == 201 and out["_index"] == first and out["result"] == "created"
    status, out = dc1.es("PUT", "/logs-app/_create/two", {"@timestamp": STAMP, "n": 2})
    assert status == 201 and out["_index"] == first and out["_id"] == "two"
    status, out = dc1.es("PUT", "/logs-app/_doc/three?op_type=create", {"@timestamp": STAMP, "n": 3})
    assert status == 201 and out["_index"] == first
    only_create = "only write ops with an op_type of create are allowed in data streams"
    assert error(dc1, "PUT", "/logs-app/_doc/x", {"@timestamp": STAMP}) == (
        400, "illegal_argument_exception", only_create)
    assert error(dc1, "DELETE", "/logs-app/_doc/two")[2] == only_create
    status, etype, reason = error(dc1, "POST", "/logs-app/_doc", {"n": 9})
    assert (status, etype) == (400, "document_parsing_exception")
    assert reason == "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing"
    assert error(dc1, "PUT", f"/{first}/_doc/d", {"@timestamp": STAMP}) == (
        400, "illegal_argument_exception",
        "index request with op_type=index and no if_primary_term and if_seq_no set targeting backing indices is "
        "disallowed, target corresponding data stream [logs-app] instead")
    assert error(dc1, "PUT", f"/{first}/_create/d", {"@timestamp": STAMP})[2] == (
        "index request with op_type=create targeting backing indices is disallowed, target corresponding data "
        "stream [logs-app] instead")
    body = ndjson({"create": {"_index": "logs-app"}}, {"@timestamp": STAMP, "n": 4},
                  {"index": {"_index": "logs-app"}}, {"@timestamp": STAMP, "n": 5},
                  {"create": {"_index": "logs-app"}}, {"n": 6})
    out = dc1.ok("POST", "/_bulk?refresh=true", body)
    assert out["errors"] is True
    created, indexed, untimed = (item[next(iter(item))] for item in out["items"])
    assert created["status"] == 201 and created["_index"] == first
    assert indexed["status"] == 400 and indexed["error"]["reason"] == only_create
    assert untimed["status"] == 400 and untimed["error"]["type"] == "document_parsing_exception"
    # reads through the data stream's name cover its backing indices
    assert dc1.count("logs-app") == 4
    hits = dc1.ok("GET", "/logs-app/_search")["hits"]["hits"]
    assert {h["_index"] for h in hits} == {first} and len(hits) == 4
    assert dc1.ok("GET", "/_count")["count"] == 4  # _all takes a visible data stream's backing indices
    assert dc1.ok("POST", "/logs-app/_refresh")["_shards"]["failed"] == 0
    assert list(dc1.ok("GET", "/logs-app/_settings")) == [first]
    # rollover: generation + 1 is the new write index
    out = dc1.ok("POST", "/logs-app/_rollover")
    assert out == {"acknowledged": True, "shards_acknowledged": True, "old_index": first,
                   "new_index": out["new_index"], "rolled_over": True, "dry_run": False, "lazy": False,
                   "conditions": {}}
    second = out["new_index"]
    assert second in {backing("logs-app", 2, d) for d in today()}
    ds = stream(dc1)
    assert names(ds) == [first, second] and ds["generation"] == 2
    assert dc1.es("POST", "/logs-app/_doc", {"@timestamp": STAMP, "n": 7})[1]["_index"] == second
    assert dc1.count("logs-app") == 5
    out = dc1.ok("POST", "/logs-app/_rollover", {"conditions": {"max_docs": 100}})
    assert out["rolled_over"] is False and out["acknowledged"] is False
    assert out["conditions"] == {"[max_docs: 100]": False} and out["new_index"].endswith("-000003")
    out = dc1.ok("POST", "/logs-app/_rollover?dry_run=true")
    assert out["dry_run"] is True and out["rolled_over"] is False
    assert names(stream(dc1)) == [first, second]
    # the write index can be neither closed nor deleted; the others can
    closing = f"cannot close the following data stream write indices [{second}]"
    for target in (second, "logs-app", f"{first},{second}"):
        assert error(dc1, "POST", f"/{target}/_close") == (400, "illegal_argument_exception", closing), target
    # (a wildcard does not get that far: action.destructive_requires_name)
    assert error(dc1, "POST", "/.ds-logs-app-*/_close")[2] == "Wildcard expressions or all indices are not allowed"
    assert dc1.ok("GET", f"/_cluster/state/metadata/{first},{second}")["metadata"]["indices"][first]["state"] == "open"
    assert error(dc1, "PUT", f"/{second}/_block/write")[2] == (
        f"cannot add a block to the following data stream write indices [{second}]")
    assert error(dc1, "DELETE", f"/{second}") == (
        400, "illegal_argument_exception",
        f"index [{second}] is the write index for data stream [logs-app] and cannot be deleted")
    assert error(dc1, "DELETE", "/logs-app") == (
        400, "illegal_argument_exception",
        "The provided expression [logs-app] matches a data stream, specify the corresponding concrete indices "
        "instead.")
    assert dc1.ok("POST", f"/{first}/_close")["acknowledged"] is True
    assert dc1.ok("POST", f"/{first}/_open")["acknowledged"] is True
    assert dc1.ok("DELETE", f"/{first}") == {"acknowledged": True}
    assert names(stream(dc1)) == [second] and dc1.count("logs-app") == 1
    # GET: names, wildcards, sorted; a missing name is 404, a wildcard matching nothing is empty
    dc1.ok("PUT", "/_data_stream/logs-db")
    assert [d["name"] for d in dc1.ok("GET", "/_data_stream")["data_streams"]] == ["logs-app", "logs-db"]
    assert [d["name"] for d in dc1.ok("GET", "/_data_stream/logs-d*,logs-app?expand_wildcards=all")
            ["data_streams"]] == ["logs-app", "logs-db"]
    assert dc1.ok("GET", "/_data_stream/nothing*") == {"data_streams": []}
    assert error(dc1, "GET", "/_data_stream/nope") == (404, "index_not_found_exception", "no such index [nope]")
    # promote: idempotent on a stream that is not replicated; a missing one is 404
    assert dc1.ok("POST", "/_data_stream/_promote/logs-app") == {"acknowledged": True}
    assert error(dc1, "POST", "/_data_stream/_promote/nope") == (
        404, "resource_not_found_exception", "data stream [nope] does not exist")
    # delete: the data stream and every backing index
    assert error(dc1, "DELETE", "/_data_stream/nope") == (404, "index_not_found_exception", "no such index [nope]")
    assert dc1.ok("DELETE", "/_data_stream/logs-*") == {"acknowledged": True}
    assert dc1.ok("GET", "/_data_stream") == {"data_streams": []}
    assert dc1.es("GET", f"/{second}")[0] == 404 and dc1.es("GET", "/logs-app/_count")[0] == 404


def test_first_write_creates_the_data_stream_and_backing_indices_are_hidden(dc1):
    # data_stream/30_auto_create_data_stream.yml; cat.indices/20_hidden.yml;
    # IndexNameExpressionResolver (trivial wildcard with data streams)
    dc1.ok("PUT", "/_index_template/logs", TEMPLATE)
    status, out = dc1.es("POST", "/logs-auto/_doc?refresh=true", {"@timestamp": STAMP, "n": 1})
    assert status == 201 and out["_index"].startswith(".ds-logs-auto-")
    ds = stream(dc1, "logs-auto")
    assert ds["generation"] == 1 and names(ds) == [out["_index"]] and ds["template"] == "logs"
    write = out["_index"]
    # a write of op_type index to a new name creates the data stream, then is refused (as in ES)
    assert error(dc1, "PUT", "/logs-other/_doc/1", {"@timestamp": STAMP})[2] == (
        "only write ops with an op_type of create are allowed in data streams")
    assert stream(dc1, "logs-other")["generation"] == 1
    # names no data stream template matches stay regular indices
    assert dc1.es("PUT", "/plain/_doc/1", {"n": 1})[0] == 201
    assert dc1.ok("GET", "/_data_stream/plain*") == {"data_streams": []}
    dc1.ok("PUT", "/.hidden-one", {"settings": {"index": {"hidden": True}}})
    # _cat/indices: a visible data stream's backing indices are listed, hidden as they are
    listed = [r["index"] for r in dc1.ok("GET", "/_cat/indices?format=json&h=index")]
    assert write in listed and "plain" in listed and ".hidden-one" not in listed
    assert [r["index"] for r in dc1.ok("GET", "/_cat/indices/logs-auto?format=json&h=index")] == [write]
    every = [r["index"] for r in dc1.ok("GET", "/_cat/indices?format=json&h=index&expand_wildcards=all")]
    assert ".hidden-one" in every
    health = dc1.ok("GET", "/_cluster/health/logs-auto?level=indices")
    assert list(health["indices"]) == [write]
    # a data stream template's hidden flag hides the data stream from plain wildcards
    dc1.ok("PUT", "/_index_template/quiet", {"index_patterns": ["quiet-*"], "priority": 5,
                                             "data_stream": {"hidden": True}})
    dc1.ok("PUT", "/_data_stream/quiet-one")
    assert "quiet-one" not in [d["name"] for d in dc1.ok("GET", "/_data_stream")["data_streams"]]
    assert stream(dc1, "quiet-one")["hidden"] is True
    assert "quiet-one" in [d["name"] for d in dc1.ok("GET", "/_data_stream?expand_wildcards=all")["data_streams"]]
    quiet = names(stream(dc1, "quiet-one"))[0]
    assert quiet not in [r["index"] for r in dc1.ok("GET", "/_cat/indices?format=json&h=index")]
    # the cluster state's data_stream custom
    state = dc1.ok("GET", "/_cluster/state/metadata")["metadata"]
    auto = state["data_stream"]["data_stream"]["logs-auto"]
    assert [i["index_name"] for i in auto["indices"]] == [write] and auto["replicated"] is False
    assert state["indices"][write]["settings"]["index"]["hidden"] == "true"


def test_auto_followed_data_stream_replicates_rolls_over_and_is_promoted(sites):
    # AutoFollowIT.testDataStreams / testRolloverDataStreamInFollowClusterForbidden,
    # AutoFollowPattern.match (the data stream's name), TransportPutFollowAction
    leader, follower = sites
    for cluster in sites:
        cluster.ok("PUT", "/_index_template/logs", TEMPLATE)
    follower.ok("PUT", "/_ccr/auto_follow/logs", {"remote_cluster": "dc1", "leader_index_patterns": ["logs-*"]})
    for n in range(3):
        assert leader.es("POST", "/logs-app/_doc", {"@timestamp": STAMP, "n": n})[0] == 201
    first = names(stream(leader))[0]
    ds = wait_for(lambda: (d := stream(follower)) and follower.count("logs-app") == 3 and d, 15,
                  what="the data stream followed")
    assert names(ds) == [first] and ds["replicated"] is True and ds["generation"] == 1
    assert ds["template"] == "logs"
    info = follower.ok("GET", f"/{first}/_ccr/info")["follower_indices"]
    assert [(i["follower_index"], i["leader_index"], i["status"]) for i in info] == [(first, first, "active")]
    # follow info: _all leaves hidden indices out (backing indices too); a dot pattern takes them
    assert follower.ok("GET", "/_all/_ccr/info") == {"follower_indices": []}
    assert [i["follower_index"] for i in follower.ok("GET", "/.ds-*/_ccr/info")["follower_indices"]] == [first]
    assert follower.ok("GET", "/logs-app/_ccr/info") == {"follower_indices": []}
    assert [s["index"] for s in follower.ok("GET", "/_ccr/stats")["follow_stats"]["indices"]] == [first]
    # the leader rolls over: its new backing index is followed and joins the data stream
    second = leader.ok("POST", "/logs-app/_rollover")["new_index"]
    leader.es("POST", "/logs-app/_doc", {"@timestamp": STAMP, "n": 3})
    ds = wait_for(lambda: (d := stream(follower)) and len(d["indices"]) == 2 and follower.count("logs-app") == 4
                  and d, 15, what="the second backing index followed")
    assert names(ds) == [first, second] and ds["generation"] == 2 and ds["replicated"] is True
    assert follower.ok("GET", "/_ccr/stats")["auto_follow_stats"]["number_of_successful_follow_indices"] == 2
    # writes go to the write index, a follower: refused as direct writes to a follower are
    assert error(follower, "POST", "/logs-app/_doc", {"@timestamp": STAMP}) == (
        403, "status_exception", FOLLOWING_ENGINE)
    out = follower.ok("POST", "/_bulk", ndjson({"create": {"_index": "logs-app"}}, {"@timestamp": STAMP}))
    assert out["items"][0]["create"]["status"] == 403
    # a replicated data stream does not roll over; its write index stays open and undeleted
    assert error(follower, "POST", "/logs-app/_rollover") == (
        400, "illegal_argument_exception",
        "data stream [logs-app] cannot be rolled over, because it is a replicated data stream")
    assert error(follower, "POST", f"/{second}/_close") == (
        400, "illegal_argument_exception", f"cannot close the following data stream write indices [{second}]")
    assert error(follower, "DELETE", f"/{second}")[2] == (
        f"index [{second}] is the write index for data stream [logs-app] and cannot be deleted")
    # unfollowing the old backing index keeps it in the data stream (still replicated)
    follower.ok("POST", f"/{first}/_ccr/pause_follow")
    follower.ok("POST", f"/{first}/_close")
    follower.ok("POST", f"/{first}/_ccr/unfollow")
    follower.ok("POST", f"/{first}/_open")
    assert names(stream(follower)) == [first, second]
    assert error(follower, "POST", "/logs-app/_rollover")[2].endswith("because it is a replicated data stream")
    # promoted: it rolls over to a regular write index, writes through its name succeed
    assert follower.ok("POST", "/_data_stream/_promote/logs-app") == {"acknowledged": True}
    assert stream(follower)["replicated"] is False
    out = follower.ok("POST", "/logs-app/_rollover")
    third = out["new_index"]
    assert out["old_index"] == second and third in {backing("logs-app", 3, d) for d in today()}
    ds = stream(follower)
    assert names(ds) == [first, second, third] and ds["generation"] == 3
    status, out = follower.es("POST", "/logs-app/_doc?refresh=true", {"@timestamp": STAMP, "n": 10})
    assert status == 201 and out["_index"] == third
    assert follower.count("logs-app") == 5
    assert "xpack" not in follower.ok("GET", f"/{third}/_settings")[third]["settings"]["index"]
    # the old write index, still a follower, is no longer the write index: pause, close, unfollow, open
    assert follower.ok("POST", f"/{second}/_ccr/pause_follow") == {"acknowledged": True}
    assert follower.ok("POST", f"/{second}/_close")["acknowledged"] is True
    assert follower.ok("POST", f"/{second}/_ccr/unfollow") == {"acknowledged": True}
    assert follower.ok("POST", f"/{second}/_open")["acknowledged"] is True
    assert follower.ok("GET", "/.ds-*/_ccr/info") == {"follower_indices": []}
    assert follower.count("logs-app") == 5
    # leader backing indices created now do not join the promoted data stream: generation 3
    # has the name of the follower's own write index, generation 4 finds it no longer replicated
    leader.ok("POST", "/logs-app/_rollover")
    leader.ok("POST", "/logs-app/_rollover")
    auto = wait_for(lambda: (a := follower.ok("GET", "/_ccr/stats")["auto_follow_stats"])
                    ["number_of_failed_follow_indices"] >= 2 and a, 15, what="two auto-follow failures")
    reasons = sorted(e["auto_follow_exception"]["reason"] for e in auto["recent_auto_follow_errors"])
    assert reasons[0].startswith(f"[_ccr_dc1:_latest_/_latest_] cannot restore index [{third}] because an open "
                                 "index with same name already exists"), reasons
    assert re.fullmatch(r"cannot follow backing index \[\.ds-logs-app-.*-000004\], because local data stream "
                        r"\[logs-app\] is no longer marked as replicated", reasons[1]), reasons
    assert names(stream(follower)) == [first, second, third]


def test_put_follow_of_a_backing_index_and_deleting_the_replicated_stream(sites):
    # TransportPutFollowAction (backing index names, DATA_STREAM), CcrRepository;
    # MetadataRolloverService.lookupTemplateForDataStream before the replicated check
    leader, follower = sites
    leader.ok("PUT", "/_index_template/logs", TEMPLATE)
    leader.ok("PUT", "/_data_stream/logs-app")
    leader.es("POST", "/logs-app/_doc", {"@timestamp": STAMP, "n": 1})
    first = names(stream(leader))[0]
    assert error(follower, "PUT", "/logs-app/_ccr/follow?wait_for_active_shards=1",
                 {"remote_cluster": "dc1", "leader_index": "logs-app"}) == (
        400, "illegal_argument_exception", "cannot follow [logs-app], because it is a DATA_STREAM")
    assert error(follower, "PUT", "/renamed/_ccr/follow?wait_for_active_shards=1",
                 {"remote_cluster": "dc1", "leader_index": first}) == (
        400, "illegal_argument_exception", "a backing index name in the local and remote cluster must remain the same")
    assert follower.es("GET", "/renamed")[0] == 404
    status, out = follower.es("PUT", f"/{first}/_ccr/follow?wait_for_active_shards=1",
                              {"remote_cluster": "dc1", "leader_index": first})
    assert status == 200 and out["index_following_started"] is True
    ds = stream(follower)
    assert names(ds) == [first] and ds["replicated"] is True
    assert "template" not in ds  # the follower has no matching template
    assert follower.count("logs-app") == 1
    # without a local template the rollover fails on the template, before the replicated check
    assert error(follower, "POST", "/logs-app/_rollover") == (
        400, "illegal_argument_exception", "no matching index template found for data stream [logs-app]")
    # deleting the data stream deletes its follower backing index; the follow task ends
    assert follower.ok("DELETE", "/_data_stream/logs-app") == {"acknowledged": True}
    assert follower.es("GET", f"/{first}")[0] == 404
    wait_for(lambda: follower.ok("GET", "/_ccr/stats")["follow_stats"]["indices"] == [], 10,
             what="the follow task gone")
    # a new write on the leader brings neither back (no task, no auto-follow pattern)
    leader.es("POST", "/logs-app/_doc", {"@timestamp": STAMP, "n": 2})
    holds_for(lambda: follower.es("GET", f"/{first}")[0] == 404
              and follower.ok("GET", "/_data_stream") == {"data_streams": []}, 1.0,
              what="the deleted stream staying deleted")


def test_rollover_of_an_alias_and_its_errors(dc1):
    # indices.rollover/10_basic.yml; MetadataRolloverService.validate, generateRolloverIndexName
    dc1.ok("PUT", "/app-000001", {"aliases": {"app": {"is_write_index": True}}})
    out = dc1.ok("POST", "/app/_rollover")
    assert (out["old_index"], out["new_index"], out["rolled_over"]) == ("app-000001", "app-000002", True)
    aliases = dc1.ok("GET", "/_alias/app")
    assert sorted(aliases) == ["app-000001", "app-000002"]
    assert aliases["app-000002"]["aliases"]["app"] == {"is_write_index": True}
    dc1.ok("PUT", "/solo-1", {"aliases": {"solo": {}}})
    assert dc1.ok("POST", "/solo/_rollover")["new_index"] == "solo-000002"
    assert list(dc1.ok("GET", "/_alias/solo")) == ["solo-000002"]
    assert error(dc1, "POST", "/nope/_rollover") == (
        400, "illegal_argument_exception", "rollover target [nope] does not exist")
    assert error(dc1, "POST", "/app-000001/_rollover") == (
        400, "illegal_argument_exception",
        "rollover target is a [concrete index] but one of [alias,data_stream] was expected")
    dc1.ok("POST", "/_aliases", {"actions": [{"add": {"index": "app-000002", "alias": "both"}},
                                             {"add": {"index": "solo-000002", "alias": "both"}}]})
    assert error(dc1, "POST", "/both/_rollover")[2] == "rollover target [both] does not point to a write index"
