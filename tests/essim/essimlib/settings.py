"""Dynamic cluster settings as ES 8 keeps them: persistent and transient
scopes over built-in defaults (transient wins, then persistent, then the
default), flat internally, rendered nested or flat (`flat_settings`) the way
ES's Settings.toXContent does it. Values are strings, as ES stores them.

Also the value parsers ES uses for the settings essim acts on: byte sizes
(`500mb`), ratios (`85%`, `0.85`) and the disk watermarks built from them.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Optional

from essimlib.errors import EsError, illegal_argument

WATERMARK = "cluster.routing.allocation.disk.watermark."

# The defaults ES 8 reports (GET /_cluster/settings?include_defaults) for the
# settings essim acts on or that haes reads.
DEFAULTS = {
    "action.destructive_requires_name": "true",
    "cluster.info.update.interval": "30s",
    "cluster.max_shards_per_node": "1000",
    "cluster.max_shards_per_node.frozen": "3000",
    "cluster.routing.allocation.disk.threshold_enabled": "true",
    WATERMARK + "low": "85%",
    WATERMARK + "low.max_headroom": "200gb",
    WATERMARK + "high": "90%",
    WATERMARK + "high.max_headroom": "150gb",
    WATERMARK + "flood_stage": "95%",
    WATERMARK + "flood_stage.max_headroom": "100gb",
    WATERMARK + "flood_stage.frozen": "95%",
    WATERMARK + "flood_stage.frozen.max_headroom": "20gb",
    "cluster.routing.allocation.enable": "all",
    "snapshot.max_concurrent_operations": "1000",
}

UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3,
         "t": 1024 ** 4, "tb": 1024 ** 4, "p": 1024 ** 5, "pb": 1024 ** 5}


def parse_bytes(value: str, setting: str) -> int:
    """ES ByteSizeValue: a number and a unit (b, kb, mb, gb, tb, pb)."""
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not m or (m.group(2).lower() not in UNITS):
        raise EsError(400, "parse_exception",
                      f"failed to parse setting [{setting}] with value [{value}] as a size in bytes: "
                      "unit is missing or unrecognized")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


class Watermark:
    """One disk watermark: a used ratio (`85%`, `0.85`) or a minimum of free
    bytes (`500mb`), with an optional max headroom (free bytes above which the
    ratio no longer matters, for large disks)."""

    def __init__(self, setting: str, value: str, headroom: Optional[str]):
        self.setting, self.value = setting, value
        self.ratio: Optional[float] = None
        self.free_bytes: Optional[int] = None
        v = str(value).strip()
        try:
            if v.endswith("%"):
                self.ratio = float(v[:-1]) / 100.0
            else:
                self.ratio = float(v)
                if self.ratio > 1.0:
                    raise ValueError(v)
        except ValueError:
            self.ratio = None
            self.free_bytes = parse_bytes(v, setting)
        if self.ratio is not None and not 0.0 <= self.ratio <= 1.0:
            raise EsError(400, "parse_exception", f"failed to parse [{value}] as a ratio or a byte size for [{setting}]")
        self.headroom = parse_bytes(headroom, setting + ".max_headroom") if headroom not in (None, "-1") else None

    def free_threshold(self, total: int) -> float:
        """Free bytes below which the watermark is exceeded on a disk of `total` bytes."""
        if self.free_bytes is not None:
            return self.free_bytes
        free = total * (1.0 - self.ratio)
        if self.headroom is not None and self.headroom >= 0 and self.ratio is not None:
            free = min(free, self.headroom)
        return free

    def exceeded(self, total: int, available: int) -> bool:
        return available < self.free_threshold(total)


class ClusterSettings:
    def __init__(self):
        self.persistent: dict = {}
        self.transient: dict = {}

    def explicit(self, key: str) -> bool:
        return key in self.transient or key in self.persistent

    def int(self, key: str) -> int:
        return int(self.get(key))

    def get(self, key: str) -> Optional[str]:
        if key in self.transient:
            return self.transient[key]
        if key in self.persistent:
            return self.persistent[key]
        return self.default(key)

    def default(self, key: str) -> Optional[str]:
        """DiskThresholdSettings: a max headroom defaults to -1 (none) once
        its watermark, or a lower one, is set explicitly."""
        for level, below in (("low", ("low",)), ("high", ("low", "high")),
                             ("flood_stage", ("low", "high", "flood_stage"))):
            if key == WATERMARK + level + ".max_headroom" and any(self.explicit(WATERMARK + b) for b in below):
                return "-1"
        return DEFAULTS.get(key)

    def defaults(self) -> dict:
        return {k: self.default(k) for k in DEFAULTS if not self.explicit(k)}

    def prefixed(self, prefix: str) -> dict:
        """Effective settings under prefix (transient over persistent)."""
        out = {k: v for k, v in self.persistent.items() if k.startswith(prefix)}
        out.update({k: v for k, v in self.transient.items() if k.startswith(prefix)})
        return out

    def watermark(self, level: str) -> Watermark:
        """level: low, high or flood_stage."""
        key = WATERMARK + level
        headroom = self.get(key + ".max_headroom")
        return Watermark(key, self.get(key), None if headroom == "-1" else headroom)

    def update(self, scope: str, flat: dict) -> dict:
        """Applies one scope of a PUT /_cluster/settings; returns what was set
        (flat). null removes a key (wildcards allowed, as in ES)."""
        store = self.persistent if scope == "persistent" else self.transient
        changed = {}
        for key, value in flat.items():
            if value is None:
                for k in [k for k in store if fnmatch.fnmatchcase(k, key)]:
                    del store[k]
                continue
            if isinstance(value, list):
                value = [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
            else:
                value = str(value).lower() if isinstance(value, bool) else str(value)
            validate(key, value)
            store[key] = value
            changed[key] = value
        return changed

    def validate_watermarks(self, before: "ClusterSettings", changed: list) -> None:
        """DiskThresholdSettings' WatermarkValidator, with ES's wrapping of a
        validator failure in a settings update."""
        marks = [self.watermark(level) for level in ("low", "high", "flood_stage")]
        low, high, flood = marks
        problem = None
        if len({m.ratio is None for m in marks}) > 1:
            problem = ("unable to consistently parse " +
                       ", ".join(f"[{m.setting}={m.value}]" for m in marks[:2]) +
                       f", and [{flood.setting}={flood.value}] as percentage or bytes")
        elif low.ratio is not None:
            if low.ratio > high.ratio:
                problem = f"low disk watermark [{low.value}] more than high disk watermark [{high.value}]"
            elif high.ratio > flood.ratio:
                problem = f"high disk watermark [{high.value}] more than flood stage disk watermark [{flood.value}]"
        else:
            if low.free_bytes < high.free_bytes:
                problem = f"low disk watermark [{low.value}] less than high disk watermark [{high.value}]"
            elif high.free_bytes < flood.free_bytes:
                problem = f"high disk watermark [{high.value}] less than flood stage disk watermark [{flood.value}]"
        if problem:
            key = next((k for k in sorted(changed) if k.startswith(WATERMARK)), WATERMARK + "low")
            raise EsError(400, "illegal_argument_exception",
                          f"illegal value can't update [{key}] from [{before.get(key)}] to [{self.get(key)}]",
                          caused_by={"type": "illegal_argument_exception", "reason": problem})


def validate(key: str, value) -> None:
    if key.startswith("cluster.remote.") and key.endswith(".seeds"):
        for seed in seed_list(value):
            host, _, port = seed.rpartition(":")
            if not host:
                raise illegal_argument(f"address must be of the form [hostname/ip]:[port], got [{seed}]")
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise illegal_argument(f"failed to parse port, got [{seed}]")
        return
    if isinstance(value, list):
        return
    if key.startswith(WATERMARK):
        if key.endswith(".max_headroom"):
            if value != "-1":
                parse_bytes(value, key)
        else:
            Watermark(key, value, None)
    elif key in ("cluster.max_shards_per_node", "cluster.max_shards_per_node.frozen",
                 "snapshot.max_concurrent_operations"):
        if not value.lstrip("-").isdigit():
            raise illegal_argument(f"Failed to parse value [{value}] for setting [{key}]")
        if int(value) < 1:
            raise illegal_argument(f"Failed to parse value [{value}] for setting [{key}] must be >= 1")


def seed_list(value) -> list:
    if isinstance(value, list):
        return [v.strip() for v in value if v.strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def flatten(obj: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def nest(flat: dict) -> dict:
    """ES's Settings.getAsStructuredMap: split keys on dots; where a key is
    both a value and a prefix, the longer keys stay dotted at that level."""
    root: dict = {}
    for key in sorted(flat):
        _put(root, "", key, flat[key])
    return root


def _put(m: dict, prefix: str, setting: str, value) -> None:
    dot = setting.find(".")
    if dot == -1:
        inner = m.get(prefix + setting)
        if isinstance(inner, dict):
            for k, v in list(inner.items()):
                m[prefix + setting + "." + k] = v
        m[prefix + setting] = value
        return
    key, rest = setting[:dot], setting[dot + 1:]
    existing = m.get(prefix + key)
    if existing is None:
        new: dict = {}
        _put(new, "", rest, value)
        m[prefix + key] = new
    elif isinstance(existing, dict):
        _put(existing, "", rest, value)
    else:
        _put(m, prefix + key + ".", rest, value)


def render(flat: dict, flat_settings: bool) -> dict:
    return dict(sorted(flat.items())) if flat_settings else nest(flat)
