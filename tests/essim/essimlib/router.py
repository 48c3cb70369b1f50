"""Route table: (methods, path pattern, handler). Unknown paths and methods
get ES's own answers (RestController): 405 with the allowed methods for a
known path, 400 "no handler found" otherwise."""

from __future__ import annotations

import re
from typing import Callable

from essimlib.http import Request, Response


class Router:
    def __init__(self):
        self.routes: list = []

    def add(self, methods: str, pattern: str, handler: Callable, name: str = "") -> None:
        """pattern: "/_snapshot/{repo}/{snap}"; {x} matches one path segment."""
        rx = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$"
        self.routes.append((set(methods.split("|")), re.compile(rx), handler, name or pattern))

    def match(self, req: Request):
        allowed = set()
        for methods, rx, handler, name in self.routes:
            m = rx.match(req.path)
            if not m:
                continue
            if req.method in methods or (req.method == "HEAD" and "GET" in methods):
                return handler, m.groupdict(), name
            allowed |= methods
        if allowed:
            # ES answers this one with a plain string, not an error object.
            msg = (f"Incorrect HTTP method for uri [{req.target}] and method [{req.method}], "
                   f"allowed: [{', '.join(sorted(allowed))}]")
            return (lambda _req, **_kw: Response(405, {"error": msg, "status": 405})), {}, "405"
        return None, None, None


def no_handler(req: Request) -> Response:
    # ES answers an unknown URI with a plain error string, not the usual object.
    return Response(400, {"error": f"no handler found for uri [{req.target}] and method [{req.method}]",
                          "status": 400})
