"""The official Elasticsearch Python client (Debian's python3-elasticsearch,
7.17, which performs its product check against GET /) drives essim through
the calls haes depends on, and accepts every answer. It runs as
/usr/bin/python3, which is what sees Debian's python3-* packages."""

import elasticsearch  # Debian's python3-elasticsearch: scripts/setup.sh installs it
import pytest


def client(cluster):
    return elasticsearch.Elasticsearch(cluster.urls(), request_timeout=30)


def test_official_client_full_round_trip(pair):
    dc1, dc2 = pair
    es1, es2 = client(dc1), client(dc2)
    assert es1.ping()
    assert es1.info()["cluster_name"] == "dc1"
    assert es1.cluster.health()["status"] == "green"
    es1.indices.create(index="logs", settings={"number_of_shards": 2, "number_of_replicas": 1})
    es1.index(index="logs", id="1", document={"msg": "hello"})
    actions = []
    for i in range(2, 101):
        actions += [{"index": {"_index": "logs", "_id": str(i)}}, {"msg": f"m{i}"}]
    res = es1.bulk(body=actions, refresh=True)  # 7.17 has no body-less bulk
    assert res["errors"] is False
    assert es1.count(index="logs")["count"] == 100
    hits = es1.search(index="logs", query={"match_all": {}}, size=3)
    assert hits["hits"]["total"]["value"] == 100 and len(hits["hits"]["hits"]) == 3
    assert es1.get(index="logs", id="1")["_source"] == {"msg": "hello"}

    es1.snapshot.create_repository(repository="haes", body={"type": "fs", "settings": {"location": "shared"}})
    es2.snapshot.create_repository(repository="haes",
                                   body={"type": "fs", "settings": {"location": "shared", "readonly": True}})
    created = es1.snapshot.create(repository="haes", snapshot="s1", body={"indices": "logs"},
                                  wait_for_completion=True)
    assert created["snapshot"]["state"] == "SUCCESS"
    got = es2.snapshot.get(repository="haes", snapshot="s1")
    assert got["snapshots"][0]["snapshot"] == "s1"
    status = es1.snapshot.status(repository="haes", snapshot="s1")
    assert status["snapshots"][0]["state"] == "SUCCESS"
    restored = es2.snapshot.restore(repository="haes", snapshot="s1", body={"indices": "logs"},
                                    wait_for_completion=True)
    assert restored["snapshot"]["shards"]["failed"] == 0
    assert es2.count(index="logs")["count"] == es1.count(index="logs")["count"] == 100

    es2.indices.close(index="logs")
    with pytest.raises(elasticsearch.exceptions.RequestError):
        es2.search(index="logs")
    es2.indices.open(index="logs")
    assert es2.count(index="logs")["count"] == 100


def test_official_client_maps_essim_errors_to_its_exceptions(dc1):
    es = client(dc1)
    with pytest.raises(elasticsearch.exceptions.NotFoundError) as e:
        es.count(index="missing")
    assert e.value.error == "index_not_found_exception"
    with pytest.raises(elasticsearch.exceptions.NotFoundError):
        es.snapshot.get(repository="nope", snapshot="x")
