"""Auto-follow patterns (AutoFollowCoordinator): the AutoFollow mixin of
CcrService (ccr) that validates, stores, lists, deletes, pauses and resumes
patterns (PUT/GET/DELETE /_ccr/auto_follow/<name>, .../pause, .../resume) and
runs the coordinator thread, which polls each remote cluster's indices (essim's
`/_essim/ccr/indices` endpoint), follows every new open leader index a pattern
matches by its name or by the name of the data stream it backs (indices that
existed when the pattern was put are left alone), and keeps the counters and
recent errors `GET /_ccr/stats` reports."""

from __future__ import annotations

import fnmatch
import threading
import time
from typing import Optional

from essimlib.ccr_follow import DEFAULT_PARAMS, follow_params
from essimlib.ccr_remote import RemoteClient, RemoteError, RemoteUnreachable
from essimlib.errors import EsError


class AutoFollow:
    """Mixed into CcrService: uses its lock, patterns, followed, auto,
    auto_thread, stopping, check_license(), client(), remote_license() and
    put_follow()."""

    def put_pattern(self, name: str, body: dict) -> None:
        self.check_license()
        problems = []
        if not body.get("remote_cluster"):
            problems.append("[remote_cluster] is missing")
        if not body.get("leader_index_patterns"):
            problems.append("[leader_index_patterns] is missing")
        params = {k: body[k] for k in DEFAULT_PARAMS if k in body}
        follow_params(body, problems)
        if problems:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: " + "".join(f"{i + 1}: {p};" for i, p in enumerate(problems)))
        alias = body["remote_cluster"]
        client = self.client(alias)
        self.remote_license(client,
                            f"can not fetch remote cluster state as the license state of the remote cluster "
                            f"[{alias}] could not be determined",
                            f"can not fetch remote cluster state as the remote cluster [{alias}] is not "
                            "licensed for [ccr]")
        leaders = self._leader_indices(client)
        pattern = {"active": True, "remote_cluster": alias,
                   "leader_index_patterns": list(body["leader_index_patterns"]),
                   "leader_index_exclusion_patterns": list(body.get("leader_index_exclusion_patterns") or []),
                   "follow_index_pattern": body.get("follow_index_pattern") or "{{leader_index}}"}
        if body.get("settings"):
            pattern["settings"] = body["settings"]
        pattern.update(params)
        with self.lock:
            # Leader indices that exist now are not followed (only new ones are).
            seen = self.followed.setdefault(name, set())
            seen.update(uuid for n, (uuid, _state, ds) in leaders.items() if self._matches(pattern, n, ds))
            self.patterns[name] = pattern
            if self.auto_thread is None:
                self.auto_thread = threading.Thread(target=self._auto_follow_loop, daemon=True, name="ccr-auto")
                self.auto_thread.start()

    def pattern(self, name: str) -> dict:
        with self.lock:
            p = self.patterns.get(name)
            if p is None:
                raise EsError(404, "resource_not_found_exception", f"auto-follow pattern [{name}] is missing")
            return p

    def get_patterns(self, name: Optional[str]) -> dict:
        with self.lock:
            if name is not None:
                self.pattern(name)
            return {"patterns": [{"name": n, "pattern": dict(p)} for n, p in sorted(self.patterns.items())
                                 if name is None or n == name]}

    def delete_pattern(self, name: str) -> None:
        with self.lock:
            self.pattern(name)
            del self.patterns[name]
            self.followed.pop(name, None)

    def activate_pattern(self, name: str, active: bool) -> None:
        with self.lock:
            self.pattern(name)["active"] = active

    @staticmethod
    def _matches(pattern: dict, index: str, data_stream: Optional[str] = None) -> bool:
        """AutoFollowPattern.match: the index's own name, or else the name of its data stream."""
        def match(name: str) -> bool:
            return (any(fnmatch.fnmatchcase(name, p) for p in pattern["leader_index_patterns"])
                    and not any(fnmatch.fnmatchcase(name, p) for p in pattern["leader_index_exclusion_patterns"]))
        return match(index) or (data_stream is not None and match(data_stream))

    @staticmethod
    def _leader_indices(client: RemoteClient) -> dict:
        return {n: (e["uuid"], e["state"], e.get("data_stream"))
                for n, e in client.request("GET", "/_essim/ccr/indices").items()}

    def _auto_follow_loop(self) -> None:
        while not self.stopping.wait(0.2):
            with self.lock:
                patterns = {n: dict(p) for n, p in self.patterns.items() if p["active"]}
            for alias in sorted({p["remote_cluster"] for p in patterns.values()}):
                try:
                    client = self.client(alias)
                    leaders = self._leader_indices(client)
                except (EsError, RemoteUnreachable, RemoteError):
                    with self.lock:
                        self.auto["number_of_failed_remote_cluster_state_requests"] += 1
                    continue
                with self.lock:
                    version = self.auto["checks"].get(alias, (0, 0))[1] + 1
                    self.auto["checks"][alias] = (time.monotonic(), version)
                for pname, p in patterns.items():
                    if p["remote_cluster"] != alias:
                        continue
                    for leader, (uuid, state, ds) in sorted(leaders.items()):
                        if state != "open" or not self._matches(p, leader, ds):
                            continue
                        with self.lock:
                            current = self.patterns.get(pname)
                            if current is None or not current["active"] or uuid in self.followed.get(pname, set()):
                                continue
                        follower = p["follow_index_pattern"].replace("{{leader_index}}", leader)
                        body = {"remote_cluster": alias, "leader_index": leader,
                                **{k: p[k] for k in DEFAULT_PARAMS if k in p}}
                        if p.get("settings"):
                            body["settings"] = p["settings"]
                        try:
                            self.put_follow(follower, body, 0, 0)
                        except EsError as e:
                            with self.lock:
                                self.auto["number_of_failed_follow_indices"] += 1
                                errors = self.auto["recent_auto_follow_errors"]
                                errors.append({"leader_index": f"{pname}:{leader}",
                                               "timestamp": int(time.time() * 1000),
                                               "auto_follow_exception": {"type": e.etype, "reason": e.reason}})
                                del errors[:-5]
                            continue
                        with self.lock:
                            self.followed.setdefault(pname, set()).add(uuid)
                            self.auto["number_of_successful_follow_indices"] += 1
