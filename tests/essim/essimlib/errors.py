"""Elasticsearch's error bodies, built as ES builds them (ElasticsearchException):

    {"error": {"root_cause": [{"type": T, "reason": R, ...}], "type": T, "reason": R, ...},
     "status": N}
"""

from __future__ import annotations

from typing import Optional


class EsError(Exception):
    """An error the REST layer turns into ES's error body and status."""

    def __init__(self, status: int, etype: str, reason: str, extra: Optional[dict] = None,
                 caused_by: Optional[dict] = None, headers: Optional[dict] = None):
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.extra = extra or {}
        self.caused_by = caused_by
        self.headers = headers or {}

    def body(self) -> dict:
        cause = {"type": self.etype, "reason": self.reason, **self.extra}
        err = dict(cause)
        err["root_cause"] = [dict(cause)]
        if self.caused_by:
            err["caused_by"] = self.caused_by
        # root_cause first, like ES
        ordered = {"root_cause": err.pop("root_cause"), **err}
        return {"error": ordered, "status": self.status}


def index_not_found(name: str) -> EsError:
    return EsError(404, "index_not_found_exception", f"no such index [{name}]",
                   {"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_",
                    "index": name})


def repository_missing(repo: str) -> EsError:
    return EsError(404, "repository_missing_exception", f"[{repo}] missing")


def snapshot_missing(repo: str, snap: str) -> EsError:
    return EsError(404, "snapshot_missing_exception", f"[{repo}:{snap}] is missing")


def illegal_argument(reason: str) -> EsError:
    return EsError(400, "illegal_argument_exception", reason)


def parse_error(reason: str) -> EsError:
    return EsError(400, "parse_exception", reason)


def write_blocked(index: str, block: str) -> EsError:
    # The status is the block's (ClusterBlockException.status()): 403 for the
    # API blocks, 429 for the flood-stage one.
    status = 429 if block.startswith("TOO_MANY_REQUESTS") else 403
    return EsError(status, "cluster_block_exception", f"index [{index}] blocked by: [{block}];")


BLOCK_WRITE = "FORBIDDEN/8/index write (api)"
BLOCK_READ_ONLY = "FORBIDDEN/5/index read-only (api)"
# IndexMetadata.INDEX_READ_ONLY_ALLOW_DELETE_BLOCK: id 12, RestStatus.TOO_MANY_REQUESTS
BLOCK_READ_ONLY_ALLOW_DELETE = ("TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, "
                                "index has read-only-allow-delete block")
