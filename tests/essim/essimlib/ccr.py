"""Cross-cluster replication between essim processes, with ES 8's shapes and
errors (x-pack/plugin/ccr: TransportPutFollowAction, ...PauseFollow,
...ResumeFollow, ...Unfollow, ...FollowStats, ...FollowInfo): CcrService, which
creates follower indices from the leader's current operations, starts, pauses,
resumes and stops their follow tasks, converts followers back to plain indices,
puts a follower of a leader's backing index into a replicated data stream of
the same name (datastreams), and reports follow info and stats; it is the only
state the REST handlers (api_ccr) and the control port touch. Its parts live
beside it: remote clusters and licenses in ccr_remote, the follow task itself
in ccr_follow, auto-follow patterns in ccr_auto."""

from __future__ import annotations

import fnmatch
import threading
import time
import urllib.parse
from typing import Optional

from essimlib import datastreams
from essimlib.ccr_auto import AutoFollow
from essimlib.ccr_follow import FollowTask, follow_params
from essimlib.ccr_remote import RemoteClusters, RemoteError, RemoteUnreachable
from essimlib.cluster import Cluster, Index, Shard, master_not_discovered, new_uuid
from essimlib.errors import EsError, illegal_argument, index_not_found


class CcrService(RemoteClusters, AutoFollow):
    def __init__(self, cluster: Cluster, license_type: str = "platinum"):
        self.cluster = cluster
        self.license = {"type": license_type, "status": "active", "uid": new_uuid(),
                        "issue_date_in_millis": int(time.time() * 1000)}
        self.tasks: dict = {}          # follower index -> FollowTask
        self.patterns: dict = {}       # auto-follow pattern name -> dict
        self.followed: dict = {}       # pattern name -> set of leader index uuids seen
        self.auto = {"number_of_failed_follow_indices": 0, "number_of_failed_remote_cluster_state_requests": 0,
                     "number_of_successful_follow_indices": 0, "recent_auto_follow_errors": [],
                     "checks": {}}
        self.delay_ms = 0
        self.stall = False
        self.lock = threading.RLock()
        self.auto_thread: Optional[threading.Thread] = None
        self.stopping = threading.Event()

    def stalled(self) -> bool:
        return self.stall

    # ---- following ------------------------------------------------------------

    def put_follow(self, follower: str, body: dict, wait_shards: int, timeout: float) -> dict:
        self.check_license()
        problems = []
        if not body.get("remote_cluster"):
            problems.append("remote_cluster is missing")
        if not body.get("leader_index"):
            problems.append("leader_index is missing")
        params = follow_params(body, problems)
        if problems:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: " + "".join(f"{i + 1}: {p};" for i, p in enumerate(problems)))
        alias, leader = body["remote_cluster"], body["leader_index"]
        client = self.client(alias)
        self.remote_license(client,
                            f"can not fetch remote index [{alias}:{leader}] metadata as the license state of the "
                            f"remote cluster [{alias}] could not be determined",
                            f"can not fetch remote index [{alias}:{leader}] metadata as the remote cluster "
                            f"[{alias}] is not licensed for [ccr]")
        try:
            got = client.request("GET", f"/{urllib.parse.quote(leader)}")
            if leader not in got and any(e.get("data_stream") == leader for e in got.values()):
                raise illegal_argument(f"cannot follow [{leader}], because it is a DATA_STREAM")
            meta = got[leader]["settings"]["index"]
            stream = got[leader].get("data_stream")
            remote_ds = None
            if stream is not None:
                # TransportPutFollowAction: a backing index keeps its name and joins the data stream
                if follower != leader:
                    raise illegal_argument("a backing index name in the local and remote cluster must remain the same")
                remote_ds = client.request("GET", f"/_data_stream/{urllib.parse.quote(stream)}")["data_streams"][0]
        except RemoteError as e:
            if e.cause.get("type") == "index_not_found_exception":
                raise index_not_found(leader) from None
            raise EsError(e.status, e.cause.get("type", "exception"), e.cause.get("reason")) from None
        except (RemoteUnreachable, KeyError) as e:
            cause = e.cause() if isinstance(e, RemoteUnreachable) else {"type": "exception", "reason": str(e)}
            raise EsError(500, cause["type"], cause["reason"]) from None
        overrides = flat(body.get("settings") or {})
        unknown = [k for k in overrides if k not in ("index.number_of_replicas",)]
        if unknown:
            raise illegal_argument("can not put follower index that could override leader settings {" +
                                   ",".join(f"{k}=\"{overrides[k]}\"" for k in unknown) + "}")
        shards = int(meta["number_of_shards"])
        replicas = int(overrides.get("index.number_of_replicas", meta["number_of_replicas"]))
        cluster = self.cluster
        with cluster.lock:
            if not cluster.has_master():
                raise master_not_discovered()
            existing = cluster.indices.get(follower)
            if existing is not None and existing.state == "open":
                raise EsError(500, "snapshot_restore_exception",
                              f"[_ccr_{alias}:_latest_/_latest_] cannot restore index [{follower}] because an open "
                              "index with same name already exists in the cluster. Either close or delete the "
                              "existing index or restore the index under a different name by providing a rename "
                              "pattern and replacement name")
            if stream is not None:
                datastreams.check_can_follow(cluster, stream, follower)
            cluster.check_shard_limit(shards * (1 + replicas))
            ups = [n.index for n in cluster.up_nodes()]
            idx = Index(follower, new_uuid(), [Shard(i, ups[i % len(ups)]) for i in range(shards)], replicas,
                        hidden=meta.get("hidden") == "true")
            for sh in idx.shards:
                sh.recovering_until = float("inf")  # initializing from the leader
            idx.follow = {"remote_cluster": alias, "leader_index": leader, "leader_index_uuid": meta["uuid"],
                          "status": "active", "parameters": params}
            idx.recovery = {"ccr": True, "repository": f"_ccr_{alias}", "snapshot": "_latest_",
                            "uuid": "_latest_", "version": "8.17.0", "index": leader,
                            "restoreUUID": new_uuid(), "bytes": 0, "start_ms": int(time.time() * 1000),
                            "duration_ms": 0}
            cluster.indices[follower] = idx
            if stream is not None:
                datastreams.join_replicated(cluster, stream, follower, int(remote_ds["generation"]),
                                            bool(remote_ds.get("hidden")))
            task = self._start(follower, bootstrap=True)
            cluster.apply_disk_watermarks()
        if wait_shards == 0:
            return {"follow_index_created": True, "follow_index_shards_acked": False,
                    "index_following_started": False}
        acked = task.started.wait(timeout)
        return {"follow_index_created": True, "follow_index_shards_acked": acked, "index_following_started": acked}

    def _start(self, follower: str, bootstrap: bool) -> FollowTask:
        idx = self.cluster.indices[follower]
        task = FollowTask(self, follower, idx.uuid, bootstrap)
        with self.lock:
            old = self.tasks.get(follower)
            if old is not None:
                old.stop_event.set()
            self.tasks[follower] = task
        task.start()
        return task

    def live_task(self, name: str) -> Optional[FollowTask]:
        with self.lock:
            task = self.tasks.get(name)
            idx = self.cluster.indices.get(name)
            if task is not None and (idx is None or idx.uuid != task.index_uuid or task.stop_event.is_set()):
                task.stop_event.set()
                del self.tasks[name]
                task = None
            return task

    def follower(self, name: str) -> Index:
        idx = self.cluster.indices.get(name)
        if idx is None:
            raise index_not_found(name)
        return idx

    def pause(self, name: str) -> None:
        idx = self.follower(name)
        if idx.follow is None:
            raise illegal_argument(f"index [{name}] is not a follower index")
        task = self.live_task(name)
        if task is None:
            raise illegal_argument(f"no shard follow tasks for [{name}]")
        task.stop_event.set()
        with self.lock:
            self.tasks.pop(name, None)
        idx.follow["status"] = "paused"

    def resume(self, name: str, body: dict) -> None:
        self.check_license()
        idx = self.follower(name)
        if idx.follow is None:
            raise illegal_argument(f"follow index [{name}] does not have ccr metadata")
        alias, leader = idx.follow["remote_cluster"], idx.follow["leader_index"]
        client = self.client(alias)
        self.remote_license(client,
                            f"can not fetch remote index [{alias}:{leader}] metadata as the license state of the "
                            f"remote cluster [{alias}] could not be determined",
                            f"can not fetch remote index [{alias}:{leader}] metadata as the remote cluster "
                            f"[{alias}] is not licensed for [ccr]")
        try:
            client.request("GET", f"/{urllib.parse.quote(leader)}")
        except RemoteError as e:
            if e.cause.get("type") == "index_not_found_exception":
                raise index_not_found(leader) from None
            raise
        except RemoteUnreachable as e:
            raise EsError(500, e.cause()["type"], e.cause()["reason"]) from None
        if idx.state != "open":
            raise illegal_argument("leader and follow index must be open")
        if self.live_task(name) is not None:
            # PersistentTasksClusterService: the shard follow task already exists.
            raise EsError(400, "resource_already_exists_exception", f"task with id {{{idx.uuid}-0}} already exist")
        problems = []
        params = follow_params(body or {}, problems)
        if problems:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: " + "".join(f"{i + 1}: {p};" for i, p in enumerate(problems)))
        idx.follow["parameters"] = params
        idx.follow["status"] = "active"
        self._start(name, bootstrap=False)

    def unfollow(self, name: str) -> None:
        idx = self.follower(name)
        if idx.follow is None:
            raise illegal_argument(f"index [{name}] is not a follower index")
        if idx.state != "close":
            raise illegal_argument(f"cannot convert the follower index [{name}] to a non-follower, "
                                   "because it has not been closed")
        if self.live_task(name) is not None:
            raise illegal_argument(f"cannot convert the follower index [{name}] to a non-follower, "
                                   "because it has not been paused")
        idx.follow = None

    def info(self, expression: str) -> dict:
        # TransportFollowInfoAction: STRICT_EXPAND_OPEN_CLOSED without data
        # streams: `_all` and `*` leave hidden indices out (backing indices
        # too); a dot pattern (.ds-*) or the name takes them.
        names = self.cluster.resolve(expression, data_streams=None)
        out = []
        for n in names:
            idx = self.cluster.indices[n]
            if idx.follow is None:
                continue
            active = self.live_task(n) is not None
            entry = {"follower_index": n, "remote_cluster": idx.follow["remote_cluster"],
                     "leader_index": idx.follow["leader_index"], "status": "active" if active else "paused"}
            if active:
                entry["parameters"] = dict(idx.follow["parameters"])
            out.append(entry)
        return {"follower_indices": out}

    def follow_stats(self, expression: Optional[str]) -> dict:
        self.check_license()
        with self.lock:
            live = {n: t for n in list(self.tasks) if (t := self.live_task(n)) is not None}
        if expression and expression not in ("_all", "*"):
            names = []
            for part in expression.split(","):
                names += [n for n in live if fnmatch.fnmatchcase(n, part)]
            if not names:
                raise EsError(404, "resource_not_found_exception",
                              f"No shard follow tasks for follower indices [{expression}]")
        else:
            names = list(live)
        return {"indices": [live[n].stats() for n in sorted(set(names))]}

    def ccr_stats(self) -> dict:
        follow = self.follow_stats(None)
        now = time.monotonic()
        with self.lock:
            auto = {k: v for k, v in self.auto.items() if k != "checks"}
            auto["recent_auto_follow_errors"] = list(self.auto["recent_auto_follow_errors"])
            auto["auto_followed_clusters"] = [
                {"cluster_name": alias, "time_since_last_check_millis": int((now - at) * 1000),
                 "last_seen_metadata_version": version}
                for alias, (at, version) in sorted(self.auto["checks"].items())]
        return {"auto_follow_stats": auto, "follow_stats": follow}

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            for t in self.tasks.values():
                t.stop_event.set()


def flat(obj: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flat(v, key))
        else:
            out[key if key.startswith("index.") else "index." + key] = v
    return out
