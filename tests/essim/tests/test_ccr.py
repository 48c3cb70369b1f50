"""Cross-cluster replication between two essim processes, checked against
ES 8: the x-pack ccr REST tests (follow_and_unfollow.yml, follow_info.yml,
follow_stats.yml, auto_follow.yml, index_directly_into_follower_index.yml),
the CCR API reference pages and the transport actions' messages
(TransportPutFollowAction, ...PauseFollowAction, ...UnfollowAction,
...FollowStatsAction, CcrLicenseChecker, LicenseUtils)."""

import json

from haestest.proc import wait_for

FOLLOWING_ENGINE = "a following engine does not accept operations without an assigned sequence number"
SHARD_STATS_KEYS = {
    "remote_cluster", "leader_index", "follower_index", "shard_id", "leader_global_checkpoint",
    "leader_max_seq_no", "follower_global_checkpoint", "follower_max_seq_no", "last_requested_seq_no",
    "outstanding_read_requests", "outstanding_write_requests", "write_buffer_operation_count",
    "write_buffer_size_in_bytes", "follower_mapping_version", "follower_settings_version",
    "follower_aliases_version", "total_read_time_millis", "total_read_remote_exec_time_millis",
    "successful_read_requests", "failed_read_requests", "operations_read", "bytes_read",
    "total_write_time_millis", "successful_write_requests", "failed_write_requests", "operations_written",
    "read_exceptions", "time_since_last_read_millis"}


def follow(follower, name="logs-copy", leader_index="logs", wait=True):
    return follower.es("PUT", f"/{name}/_ccr/follow" + ("?wait_for_active_shards=1" if wait else ""),
                       {"remote_cluster": "dc1", "leader_index": leader_index})


def stats(follower, index="logs-copy"):
    return follower.ok("GET", f"/{index}/_ccr/stats")["indices"][0]


def test_remote_clusters_and_remote_info(sites):
    # docs/reference/cluster/remote-info.asciidoc; settings as given (follow_info.yml)
    leader, follower = sites
    flat = follower.ok("GET", "/_cluster/settings?flat_settings=true")
    assert flat["persistent"] == {"cluster.remote.dc1.seeds": leader.seeds()}
    info = follower.ok("GET", "/_remote/info")["dc1"]
    assert info == {"connected": True, "mode": "sniff", "seeds": leader.seeds(), "num_nodes_connected": 2,
                    "max_connections_per_cluster": 3, "initial_connect_timeout": "30s",
                    "skip_unavailable": False}
    for node in leader.node_names:
        leader.stop_node(node)
    info = follower.ok("GET", "/_remote/info")["dc1"]
    assert info["connected"] is False and info["num_nodes_connected"] == 0
    status, err = follower.es("PUT", "/_cluster/settings", {"persistent": {"cluster.remote.x.seeds": ["nohost"]}})
    assert status == 400 and err["error"]["type"] == "illegal_argument_exception"
    follower.ok("PUT", "/_cluster/settings", {"persistent": {"cluster.remote.dc1.seeds": None}})
    assert follower.ok("GET", "/_remote/info") == {}


def test_follow_replicates_with_a_controllable_lag(sites):
    leader, follower = sites
    leader.create_index("logs", shards=2, replicas=0)
    leader.bulk_index("logs", {i: {"n": i} for i in range(10)})
    status, out = follow(follower)
    assert status == 200
    assert out == {"follow_index_created": True, "follow_index_shards_acked": True, "index_following_started": True}
    assert follower.count("logs-copy") == 10
    settings = follower.ok("GET", "/logs-copy/_settings")["logs-copy"]["settings"]["index"]
    assert settings["xpack"]["ccr"]["following_index"] == "true" and settings["number_of_shards"] == "2"
    info = follower.ok("GET", "/logs-copy/_ccr/info")["follower_indices"]
    assert [(i["follower_index"], i["remote_cluster"], i["leader_index"], i["status"]) for i in info] == \
        [("logs-copy", "dc1", "logs", "active")]
    params = info[0]["parameters"]
    assert params["max_read_request_operation_count"] == 5120 and params["max_read_request_size"] == "32mb"
    assert params["max_outstanding_read_requests"] == 12 and params["max_write_buffer_size"] == "512mb"
    assert params["max_retry_delay"] == "500ms" and params["read_poll_timeout"] == "1m"
    # replication: writes and deletes on the leader reach the follower
    leader.bulk_index("logs", {i: {"n": i} for i in range(10, 15)})
    leader.ok("DELETE", "/logs/_doc/3")
    wait_for(lambda: follower.count("logs-copy") == 14 and follower.es("GET", "/logs-copy/_doc/3")[0] == 404
             and stats(follower)["total_global_checkpoint_lag"] == 0, 10, what="follower caught up")
    assert follower.ok("GET", "/logs-copy/_doc/12")["_source"] == {"n": 12}
    st = stats(follower)
    assert st["index"] == "logs-copy" and st["total_global_checkpoint_lag"] == 0
    assert [s["shard_id"] for s in st["shards"]] == [0, 1]
    for shard in st["shards"]:
        assert set(shard) == SHARD_STATS_KEYS
        assert shard["leader_global_checkpoint"] == shard["follower_global_checkpoint"]
        assert shard["read_exceptions"] == [] and shard["time_since_last_read_millis"] >= 0
    assert sum(s["operations_read"] for s in st["shards"]) == 6  # 5 writes, 1 delete after the copy
    assert sum(s["operations_written"] for s in st["shards"]) == 6
    # a lag: operations are read at once, applied 1.5 s later
    follower.set_ccr_replication(delay_ms=1500)
    leader.bulk_index("logs", {i: {"n": i} for i in range(15, 25)})
    lagging = wait_for(lambda: (s := stats(follower))["total_global_checkpoint_lag"] >= 10 and s, 5,
                       what="lag reported")
    assert sum(sh["write_buffer_operation_count"] for sh in lagging["shards"]) == 10
    assert follower.count("logs-copy") == 14
    wait_for(lambda: follower.count("logs-copy") == 24, 10, what="delayed operations applied")
    assert stats(follower)["total_global_checkpoint_lag"] == 0
    # stalled: no reads at all; the follower does not know the leader moved,
    # time_since_last_read_millis says so (as in ES)
    follower.set_ccr_replication(delay_ms=0, stalled=True)
    wait_for(lambda: all(s["time_since_last_read_millis"] > 300 for s in stats(follower)["shards"]), 5,
             what="reads stopped")
    leader.bulk_index("logs", {i: {"n": i} for i in range(25, 30)})
    wait_for(lambda: all(s["time_since_last_read_millis"] > 600 for s in stats(follower)["shards"]), 5,
             what="still no reads")
    assert stats(follower)["total_global_checkpoint_lag"] == 0  # it does not know
    assert follower.count("logs-copy") == 24
    follower.set_ccr_replication(stalled=False)
    wait_for(lambda: follower.count("logs-copy") == 29, 10, what="caught up after the stall")
    ccr = follower.ok("GET", "/_ccr/stats")
    assert set(ccr) == {"auto_follow_stats", "follow_stats"}
    assert [i["index"] for i in ccr["follow_stats"]["indices"]] == ["logs-copy"]
    assert set(ccr["auto_follow_stats"]) == {"number_of_failed_follow_indices",
                                             "number_of_failed_remote_cluster_state_requests",
                                             "number_of_successful_follow_indices", "recent_auto_follow_errors",
                                             "auto_followed_clusters"}


def test_follower_refuses_writes_until_paused_closed_unfollowed_and_opened(sites):
    # index_directly_into_follower_index.yml (403), follow_and_unfollow.yml,
    # TransportPauseFollowAction / TransportUnfollowAction messages
    leader, follower = sites
    leader.create_index("logs", shards=1, replicas=0)
    leader.bulk_index("logs", {1: {"n": 1}})
    assert follow(follower)[0] == 200
    status, err = follower.es("PUT", "/logs-copy/_doc/2", {"n": 2})
    assert status == 403 and err["error"]["type"] == "status_exception"
    assert err["error"]["reason"] == FOLLOWING_ENGINE
    body = json.dumps({"index": {"_index": "logs-copy", "_id": "9"}}) + "\n" + json.dumps({"n": 9}) + "\n"
    status, out = follower.es("POST", "/_bulk", body)
    assert status == 200 and out["items"][0]["index"]["status"] == 403
    assert follower.es("DELETE", "/logs-copy/_doc/1")[0] == 403
    status, err = follower.es("POST", "/logs-copy/_ccr/resume_follow", {})
    assert status == 400 and err["error"]["type"] == "resource_already_exists_exception"
    status, err = follower.es("POST", "/logs-copy/_ccr/unfollow")
    assert status == 400 and err["error"]["reason"] == \
        "cannot convert the follower index [logs-copy] to a non-follower, because it has not been closed"
    assert follower.ok("POST", "/logs-copy/_ccr/pause_follow") == {"acknowledged": True}
    info = follower.ok("GET", "/logs-copy/_ccr/info")["follower_indices"][0]
    assert info["status"] == "paused" and "parameters" not in info
    status, err = follower.es("GET", "/logs-copy/_ccr/stats")
    assert status == 404 and err["error"]["type"] == "resource_not_found_exception"
    assert err["error"]["reason"] == "No shard follow tasks for follower indices [logs-copy]"
    status, err = follower.es("POST", "/logs-copy/_ccr/pause_follow")
    assert status == 400 and err["error"]["reason"] == "no shard follow tasks for [logs-copy]"
    # paused: the leader's writes wait; resumed: they arrive
    leader.bulk_index("logs", {2: {"n": 2}})
    assert follower.ok("POST", "/logs-copy/_ccr/resume_follow", {}) == {"acknowledged": True}
    wait_for(lambda: follower.count("logs-copy") == 2, 10, what="resumed")
    follower.ok("POST", "/logs-copy/_close")
    status, err = follower.es("POST", "/logs-copy/_ccr/unfollow")
    assert status == 400 and err["error"]["reason"] == \
        "cannot convert the follower index [logs-copy] to a non-follower, because it has not been paused"
    follower.ok("POST", "/logs-copy/_ccr/pause_follow")
    assert follower.ok("POST", "/logs-copy/_ccr/unfollow") == {"acknowledged": True}
    follower.ok("POST", "/logs-copy/_open")
    assert follower.es("PUT", "/logs-copy/_doc/3", {"n": 3})[0] == 201
    assert follower.count("logs-copy") == 3
    assert "xpack" not in follower.ok("GET", "/logs-copy/_settings")["logs-copy"]["settings"]["index"]
    assert follower.ok("GET", "/logs-copy/_ccr/info") == {"follower_indices": []}
    status, err = follower.es("POST", "/logs-copy/_ccr/pause_follow")
    assert status == 400 and err["error"]["reason"] == "index [logs-copy] is not a follower index"
    status, err = follower.es("POST", "/logs-copy/_ccr/unfollow")
    assert status == 400 and err["error"]["reason"] == "index [logs-copy] is not a follower index"
    status, err = follower.es("POST", "/nope/_ccr/unfollow")
    assert status == 404 and err["error"]["type"] == "index_not_found_exception"
    leader.bulk_index("logs", {4: {"n": 4}})  # no longer followed
    assert follower.count("logs-copy") == 3


def test_follow_creation_errors(sites):
    leader, follower = sites
    leader.create_index("logs", shards=1, replicas=0)
    status, err = follower.es("PUT", "/x/_ccr/follow", {})
    assert status == 400 and err["error"]["type"] == "action_request_validation_exception"
    assert err["error"]["reason"] == "Validation Failed: 1: remote_cluster is missing;2: leader_index is missing;"
    status, err = follower.es("PUT", "/x/_ccr/follow", {"remote_cluster": "nowhere", "leader_index": "logs"})
    assert status == 404 and err["error"]["type"] == "no_such_remote_cluster_exception"
    assert err["error"]["reason"] == "no such remote cluster: [nowhere]"
    status, err = follow(follower, "x", "nope")
    assert status == 404 and err["error"]["type"] == "index_not_found_exception"
    assert err["error"]["reason"] == "no such index [nope]"
    follower.create_index("taken")
    status, err = follow(follower, "taken")
    assert status == 500 and err["error"]["type"] == "snapshot_restore_exception"
    assert err["error"]["reason"].startswith(
        "[_ccr_dc1:_latest_/_latest_] cannot restore index [taken] because an open index with same name")
    # without waiting: created, following starts in the background
    status, out = follow(follower, "later", wait=False)
    assert out == {"follow_index_created": True, "follow_index_shards_acked": False,
                   "index_following_started": False}
    wait_for(lambda: follower.ok("GET", "/later/_ccr/info")["follower_indices"][0]["status"] == "active", 5,
             what="following")
    for node in leader.node_names:
        leader.stop_node(node)
    status, err = follow(follower, "y")
    assert status == 400 and err["error"]["type"] == "status_exception"
    assert err["error"]["reason"] == ("can not fetch remote index [dc1:logs] metadata as the license state of "
                                      "the remote cluster [dc1] could not be determined")
    cause = err["error"]["caused_by"]
    assert cause["reason"] == "could not determine the license type for cluster [dc1]"
    assert cause["caused_by"]["type"] == "connect_transport_exception"
    assert follower.es("GET", "/y")[0] == 404


def test_an_unreachable_leader_shows_in_read_exceptions_then_recovers(sites):
    leader, follower = sites
    leader.create_index("logs", shards=1, replicas=0)
    leader.bulk_index("logs", {1: {"n": 1}})
    assert follow(follower)[0] == 200
    for node in leader.node_names:
        leader.stop_node(node)
    # (while only one leader node is down the other answers 503 unavailable_shards_exception)
    shard = wait_for(lambda: (s := stats(follower)["shards"][0])["read_exceptions"]
                     and s["read_exceptions"][0]["exception"]["type"] == "connect_transport_exception" and s,
                     10, what="connection failures recorded")
    assert shard["failed_read_requests"] >= 1
    failure = shard["read_exceptions"][0]
    assert failure["from_seq_no"] == 1 and failure["retries"] >= 1
    assert failure["exception"]["type"] == "connect_transport_exception"
    for node in leader.node_names:
        leader.start_node(node)
    leader.bulk_index("logs", {2: {"n": 2}})
    wait_for(lambda: follower.count("logs-copy") == 2, 10, what="caught up after the outage")
    assert stats(follower)["shards"][0]["read_exceptions"] == []


def test_license_errors_local_and_remote(sites):
    # LicenseUtils.newComplianceException; CcrLicenseChecker (remote: 400)
    leader, follower = sites
    leader.create_index("logs", shards=1, replicas=0)
    assert follower.ok("GET", "/_license")["license"]["type"] == "platinum"
    follower.set_license("basic")
    lic = follower.ok("GET", "/_license")["license"]
    assert lic["type"] == "basic" and lic["status"] == "active" and "expiry_date_in_millis" not in lic
    for method, path, body in (("PUT", "/logs-copy/_ccr/follow", {"remote_cluster": "dc1", "leader_index": "logs"}),
                               ("GET", "/_ccr/stats", None),
                               ("PUT", "/_ccr/auto_follow/p", {"remote_cluster": "dc1",
                                                               "leader_index_patterns": ["logs-*"]})):
        status, err = follower.es(method, path, body)
        assert status == 403, path
        assert err["error"]["type"] == "security_exception"
        assert err["error"]["reason"] == "current license is non-compliant for [ccr]"
        assert err["error"]["license.expired.feature"] == "ccr"
    follower.set_license("platinum")
    leader.set_license("basic")
    status, err = follow(follower)
    assert status == 400 and err["error"]["type"] == "status_exception"
    assert err["error"]["reason"] == ("can not fetch remote index [dc1:logs] metadata as the remote cluster [dc1] "
                                      "is not licensed for [ccr]; the license mode [BASIC] on cluster [dc1] does "
                                      "not enable [ccr]")
    leader.set_license("trial")
    assert follow(follower)[0] == 200


def test_auto_follow_patterns(sites):
    # auto_follow.yml; only leader indices created after the pattern are followed
    leader, follower = sites
    leader.create_index("logs-old", shards=1, replicas=0)
    body = {"remote_cluster": "dc1", "leader_index_patterns": ["logs-*"],
            "leader_index_exclusion_patterns": ["logs-excluded"], "follow_index_pattern": "{{leader_index}}-copy",
            "max_outstanding_read_requests": 2}
    assert follower.ok("PUT", "/_ccr/auto_follow/p", body) == {"acknowledged": True}
    follower.ok("PUT", "/_ccr/auto_follow/m", {"remote_cluster": "dc1", "leader_index_patterns": ["metrics-*"]})
    got = follower.ok("GET", "/_ccr/auto_follow/p")["patterns"]
    assert got == [{"name": "p", "pattern": {
        "active": True, "remote_cluster": "dc1", "leader_index_patterns": ["logs-*"],
        "leader_index_exclusion_patterns": ["logs-excluded"], "follow_index_pattern": "{{leader_index}}-copy",
        "max_outstanding_read_requests": 2}}]
    assert [p["name"] for p in follower.ok("GET", "/_ccr/auto_follow")["patterns"]] == ["m", "p"]
    for name in ("logs-new", "logs-excluded", "other"):
        leader.create_index(name, shards=1, replicas=0)
    leader.bulk_index("logs-new", {1: {"n": 1}})
    wait_for(lambda: follower.es("GET", "/logs-new-copy/_count")[0] == 200
             and follower.count("logs-new-copy") == 1, 10, what="auto-followed")
    leader.create_index("metrics-1", shards=1, replicas=0)
    wait_for(lambda: follower.es("GET", "/metrics-1")[0] == 200, 10, what="second pattern followed")
    for name in ("logs-old-copy", "logs-excluded-copy", "other-copy", "other"):
        assert follower.es("GET", f"/{name}")[0] == 404, name
    # paused: new leader indices wait (the other pattern's next index proves a pass happened)
    assert follower.ok("POST", "/_ccr/auto_follow/p/pause") == {"acknowledged": True}
    assert follower.ok("GET", "/_ccr/auto_follow/p")["patterns"][0]["pattern"]["active"] is False
    leader.create_index("logs-later", shards=1, replicas=0)
    leader.create_index("metrics-2", shards=1, replicas=0)
    wait_for(lambda: follower.es("GET", "/metrics-2")[0] == 200, 10, what="a pass after logs-later")
    assert follower.es("GET", "/logs-later-copy")[0] == 404
    follower.ok("POST", "/_ccr/auto_follow/p/resume")
    wait_for(lambda: follower.es("GET", "/logs-later-copy")[0] == 200, 10, what="followed once resumed")
    # a follower name that is taken: recorded as an auto-follow error
    follower.create_index("logs-clash-copy")
    leader.create_index("logs-clash", shards=1, replicas=0)
    auto = wait_for(lambda: (a := follower.ok("GET", "/_ccr/stats")["auto_follow_stats"])
                    ["number_of_failed_follow_indices"] and a, 10, what="auto-follow failure")
    err = auto["recent_auto_follow_errors"][0]
    assert err["leader_index"] == "p:logs-clash"
    assert err["auto_follow_exception"]["type"] == "snapshot_restore_exception"
    assert auto["number_of_successful_follow_indices"] == 4
    assert [c["cluster_name"] for c in auto["auto_followed_clusters"]] == ["dc1"]
    assert follower.ok("DELETE", "/_ccr/auto_follow/p") == {"acknowledged": True}
    for method, path in (("GET", "/_ccr/auto_follow/p"), ("DELETE", "/_ccr/auto_follow/p"),
                         ("POST", "/_ccr/auto_follow/p/pause"), ("POST", "/_ccr/auto_follow/p/resume")):
        status, err = follower.es(method, path)
        assert status == 404 and err["error"]["type"] == "resource_not_found_exception", path
        assert err["error"]["reason"] == "auto-follow pattern [p] is missing"
