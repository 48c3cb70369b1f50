"""The _cat APIs' table rendering, as ES's RestTable does it: `h` (column
names, aliases, wildcards), `s` (sort keys, `:desc`), `v` (header line),
`format=json` (string values), `bytes` (a fixed unit), aligned text columns
with numbers right-aligned."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Optional

from essimlib.errors import EsError, illegal_argument
from essimlib.http import Request, Response

UNITS = {"b": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3, "tb": 1024 ** 4, "pb": 1024 ** 5}


@dataclass
class Column:
    name: str
    aliases: tuple = ()
    kind: str = "text"          # text, number or bytes
    default: bool = True


def human_bytes(n: int) -> str:
    """ByteSizeValue.toString: the largest unit with a value >= 1, one decimal at most."""
    for unit in ("pb", "tb", "gb", "mb", "kb"):
        if n >= UNITS[unit]:
            value = n / UNITS[unit]
            text = f"{value:.1f}"
            return (text[:-2] if text.endswith(".0") else text) + unit
    return f"{n}b"


def human_millis(ms: int) -> str:
    """TimeValue.toString."""
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if ms >= size:
            text = f"{ms / size:.1f}"
            return (text[:-2] if text.endswith(".0") else text) + unit
    return f"{ms}ms"


def select_columns(req: Request, columns: list) -> list:
    h = req.query.get("h")
    if not h:
        return [c for c in columns if c.default]
    chosen = []
    for token in h.split(","):
        token = token.strip()
        for c in columns:
            if c in chosen:
                continue
            if fnmatch.fnmatchcase(c.name, token) or token in c.aliases:
                chosen.append(c)
    return chosen


def sort_rows(req: Request, columns: list, rows: list) -> list:
    spec = req.query.get("s")
    if not spec:
        return rows
    keys = []
    for token in reversed(spec.split(",")):
        name, _, order = token.strip().partition(":")
        col = next((c for c in columns if c.name == name or name in c.aliases), None)
        if col is None:
            raise EsError(500, "unsupported_operation_exception", f"Unable to sort by unknown sort key `{name}`")
        keys.append((col, order == "desc"))
    for col, desc in keys:  # stable sorts, least significant key first
        present = [r for r in rows if r.get(col.name) is not None]
        missing = [r for r in rows if r.get(col.name) is None]
        present.sort(key=lambda r: r[col.name], reverse=desc)
        rows = present + missing
    return rows


def cell(req: Request, col: Column, value) -> Optional[str]:
    if value is None:
        return None
    if col.kind == "bytes":
        unit = req.query.get("bytes")
        if unit:
            if unit not in UNITS:
                raise illegal_argument(f"unknown byte unit [{unit}]")
            return str(value // UNITS[unit])
        return human_bytes(value)
    return str(value)


def render(req: Request, columns: list, rows: list) -> Response:
    cols = select_columns(req, columns)
    rows = sort_rows(req, columns, rows)
    table = [[cell(req, c, r.get(c.name)) for c in cols] for r in rows]
    if req.query.get("format") == "json":
        return Response(200, [{c.name: v for c, v in zip(cols, line)} for line in table])
    lines = ([[c.name for c in cols]] if req.flag("v") else []) + [["" if v is None else v for v in line]
                                                                   for line in table]
    if not lines or not cols:
        return Response(200, "", content_type="text/plain; charset=UTF-8")
    widths = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    out = []
    for n, line in enumerate(lines):
        header = req.flag("v") and n == 0
        cells = []
        for i, (c, v) in enumerate(zip(cols, line)):
            right = c.kind != "text" and not header
            cells.append(v.rjust(widths[i]) if right else (v if i == len(cols) - 1 else v.ljust(widths[i])))
        out.append(" ".join(cells).rstrip())
    return Response(200, "\n".join(out) + "\n", content_type="text/plain; charset=UTF-8")
