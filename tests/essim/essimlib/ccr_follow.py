"""The replication engine of a follower index (ShardFollowNodeTask): the
follow parameters and their defaults, ShardState (one shard's
ShardFollowNodeTaskStatus) and FollowTask, the thread per follower index that
first copies the leader's operations up to its checkpoint (ES: a restore from
the leader), then pulls the leader's shard operations over the leader's HTTP
port (essim's `/_essim/ccr/changes` endpoint, see api_ccr; ES: the
ShardChangesAction over transport) and applies them with their own sequence
numbers, holding them `delay_ms` first or reading nothing while the
CcrService is stalled (both set on the control port)."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Optional

from essimlib.ccr_remote import RemoteClient, RemoteError, RemoteUnreachable, no_such_remote
from essimlib.errors import EsError, index_not_found

if TYPE_CHECKING:
    from essimlib.ccr import CcrService

# FollowParameters defaults (TransportResumeFollowAction), as follow info shows them.
DEFAULT_PARAMS = {
    "max_read_request_operation_count": 5120,
    "max_write_request_operation_count": 5120,
    "max_outstanding_read_requests": 12,
    "max_outstanding_write_requests": 9,
    "max_read_request_size": "32mb",
    "max_write_request_size": "9223372036854775807b",
    "max_write_buffer_count": 2147483647,
    "max_write_buffer_size": "512mb",
    "max_retry_delay": "500ms",
    "read_poll_timeout": "1m",
}
INT_PARAMS = ("max_read_request_operation_count", "max_write_request_operation_count",
              "max_outstanding_read_requests", "max_outstanding_write_requests", "max_write_buffer_count")

POLL_SECONDS = 0.05


class ShardState:
    """One shard follow task's status (ShardFollowNodeTaskStatus)."""

    def __init__(self, shard: int, follower_checkpoint: int):
        self.shard = shard
        self.leader_gcp = -1
        self.leader_max_seq_no = -1
        self.follower_gcp = follower_checkpoint
        self.last_requested = follower_checkpoint
        self.buffer: list = []           # (ready_at, op) read but not yet applied
        self.read_time_ms = 0
        self.ok_reads = self.failed_reads = 0
        self.ops_read = self.bytes_read = 0
        self.write_time_ms = 0
        self.ok_writes = self.failed_writes = 0
        self.ops_written = 0
        self.read_exceptions: dict = {}  # from_seq_no -> [retries, exception]
        self.last_read: Optional[float] = None

    def reset_counters(self) -> None:
        self.__init__(self.shard, self.follower_gcp)


class FollowTask(threading.Thread):
    """The shard follow tasks of one follower index."""

    def __init__(self, service: "CcrService", follower: str, index_uuid: str, bootstrap: bool):
        super().__init__(daemon=True, name=f"ccr-{follower}")
        self.service = service
        self.follower = follower
        self.index_uuid = index_uuid
        self.bootstrap = bootstrap
        self.stop_event = threading.Event()
        self.started = threading.Event()      # the follower is ready (bootstrap done)
        idx = service.cluster.indices[follower]
        self.follow = idx.follow
        self.shards = [ShardState(sh.number, sh.seq_no - 1) for sh in idx.shards]
        self.retry_delay = parse_seconds(self.follow["parameters"]["max_retry_delay"])
        self.batch = int(self.follow["parameters"]["max_read_request_operation_count"])

    def client(self) -> RemoteClient:
        alias = self.follow["remote_cluster"]
        remote = self.service.remotes().get(alias)
        if remote is None:
            raise RemoteError(404, {"error": no_such_remote(alias).body()["error"]})
        return RemoteClient(alias, remote["seeds"])

    def run(self) -> None:
        if self.bootstrap:
            self._initial_copy()
        else:
            self.started.set()
        while not self.stop_event.is_set():
            if not self.service.stalled():
                for st in self.shards:
                    self._read(st)
            self._apply_ready()
            if self._index_gone():
                return
            self.stop_event.wait(POLL_SECONDS)

    def _index_gone(self) -> bool:
        idx = self.service.cluster.indices.get(self.follower)
        return idx is None or idx.uuid != self.index_uuid

    def _initial_copy(self) -> None:
        """The initial copy (ES: a restore from the leader): every operation up
        to the leader's checkpoint, retried until it succeeds."""
        while not self.stop_event.is_set():
            try:
                for st in self.shards:
                    while True:
                        ops, gcp, max_seq = self._fetch(st.shard, st.follower_gcp + 1)
                        self.service.cluster.apply_replicated(self.follower, self.index_uuid, st.shard, ops)
                        if ops:
                            st.follower_gcp = ops[-1][0]
                        if not ops or st.follower_gcp >= gcp:
                            break
                with self.service.cluster.lock:
                    idx = self.service.cluster.indices.get(self.follower)
                    if idx is None or idx.uuid != self.index_uuid:
                        return
                    for sh in idx.shards:
                        sh.recovering_until = 0.0
                for st in self.shards:
                    st.reset_counters()
                    st.last_requested = st.follower_gcp
                self.started.set()
                return
            except (RemoteUnreachable, RemoteError, EsError):
                if self._index_gone():
                    return
                self.stop_event.wait(self.retry_delay)

    def _fetch(self, shard: int, from_seq_no: int) -> tuple:
        path = (f"/_essim/ccr/changes/{urllib.parse.quote(self.follow['leader_index'])}/{shard}"
                f"?from_seq_no={from_seq_no}&max_operation_count={self.batch}")
        body = self.client().request("GET", path)
        if body.get("index_uuid") != self.follow["leader_index_uuid"]:
            raise RemoteError(404, {"error": index_not_found(self.follow["leader_index"]).body()["error"]})
        return [tuple(op) for op in body["operations"]], body["global_checkpoint"], body["max_seq_no"]

    def _read(self, st: ShardState) -> None:
        start = time.monotonic()
        st.last_read = start
        from_seq_no = st.last_requested + 1
        try:
            ops, gcp, max_seq = self._fetch(st.shard, from_seq_no)
        except (RemoteUnreachable, RemoteError) as e:
            st.failed_reads += 1
            cause = e.cause() if isinstance(e, RemoteUnreachable) else e.cause
            entry = st.read_exceptions.setdefault(from_seq_no, [0, cause])
            entry[0] += 1
            entry[1] = cause
            self.stop_event.wait(min(self.retry_delay, 0.05 * (2 ** min(entry[0], 4))))
            return
        took = int((time.monotonic() - start) * 1000)
        st.read_exceptions.pop(from_seq_no, None)
        st.ok_reads += 1
        st.read_time_ms += took
        st.leader_gcp, st.leader_max_seq_no = gcp, max_seq
        if ops:
            ready = time.monotonic() + self.service.delay_ms / 1000.0
            st.buffer += [(ready, op) for op in ops]
            st.ops_read += len(ops)
            st.bytes_read += sum(len(json.dumps(op)) for op in ops)
            st.last_requested = ops[-1][0]

    def _apply_ready(self) -> None:
        now = time.monotonic()
        for st in self.shards:
            ready = [op for at, op in st.buffer if at <= now]
            if not ready:
                continue
            start = time.monotonic()
            try:
                self.service.cluster.apply_replicated(self.follower, self.index_uuid, st.shard, ready)
            except EsError:
                st.failed_writes += 1
                continue
            st.buffer = st.buffer[len(ready):]
            st.ok_writes += 1
            st.ops_written += len(ready)
            st.write_time_ms += int((time.monotonic() - start) * 1000)
            st.follower_gcp = ready[-1][0]

    def stats(self) -> dict:
        now = time.monotonic()
        shards = []
        for st in self.shards:
            shards.append({
                "remote_cluster": self.follow["remote_cluster"], "leader_index": self.follow["leader_index"],
                "follower_index": self.follower, "shard_id": st.shard,
                "leader_global_checkpoint": st.leader_gcp, "leader_max_seq_no": st.leader_max_seq_no,
                "follower_global_checkpoint": st.follower_gcp, "follower_max_seq_no": st.follower_gcp,
                "last_requested_seq_no": st.last_requested,
                "outstanding_read_requests": 0 if self.service.stalled() else 1,
                "outstanding_write_requests": 0,
                "write_buffer_operation_count": len(st.buffer),
                "write_buffer_size_in_bytes": sum(len(json.dumps(op)) for _, op in st.buffer),
                "follower_mapping_version": 1, "follower_settings_version": 1, "follower_aliases_version": 1,
                "total_read_time_millis": st.read_time_ms, "total_read_remote_exec_time_millis": st.read_time_ms // 2,
                "successful_read_requests": st.ok_reads, "failed_read_requests": st.failed_reads,
                "operations_read": st.ops_read, "bytes_read": st.bytes_read,
                "total_write_time_millis": st.write_time_ms,
                "successful_write_requests": st.ok_writes, "failed_write_requests": st.failed_writes,
                "operations_written": st.ops_written,
                "read_exceptions": [{"from_seq_no": k, "retries": v[0], "exception": v[1]}
                                    for k, v in sorted(st.read_exceptions.items())],
                "time_since_last_read_millis": -1 if st.last_read is None else int((now - st.last_read) * 1000)})
        lag = sum(max(0, s["leader_global_checkpoint"] - s["follower_global_checkpoint"]) for s in shards)
        return {"index": self.follower, "total_global_checkpoint_lag": lag, "shards": shards}


def follow_params(body: dict, problems: list) -> dict:
    params = dict(DEFAULT_PARAMS)
    for key in DEFAULT_PARAMS:
        if key in body and body[key] is not None:
            value = body[key]
            if key in INT_PARAMS:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    problems.append(f"{key} must be a number")
                    continue
                if value < 1:
                    problems.append(f"{key} must be larger than 0")
            params[key] = value
    return params


def parse_seconds(value: str) -> float:
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if str(value).endswith(suffix) and str(value)[:-len(suffix)].isdigit():
            return int(str(value)[:-len(suffix)]) * mult
    return 0.5
