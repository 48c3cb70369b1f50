"""A small threaded HTTP/1.1 server, one per simulated node.

Written on raw sockets (not http.server) so that faults look like a real
node's: a stopped node refuses connections, a hung node accepts and never
answers, a broken node drops the connection or truncates its answer.
Keep-alive with Content-Length; HTTP/1.0 accepted; chunked request bodies
accepted (the official Python client may send them).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Optional

REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
           413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}

MAX_HEADER = 64 * 1024
MAX_BODY = 100 * 1024 * 1024


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict
    headers: dict           # lower-case names
    body: bytes
    version: str
    node: object = None     # the cluster Node answering

    def json(self, default=None):
        if not self.body.strip():
            return default
        from essimlib.errors import EsError
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise EsError(400, "x_content_parse_exception", f"[1:1] Unexpected character: {e}") from None

    def flag(self, name: str, default: bool = False) -> bool:
        v = self.query.get(name)
        if v is None:
            return default
        return v in ("", "true", "1")


@dataclass
class Response:
    status: int = 200
    body: object = None          # dict/list → JSON; str/bytes sent as they are
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self, pretty: bool = False) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return (json.dumps(self.body, indent=2 if pretty else None) + ("\n" if pretty else "")).encode()


class HttpError(Exception):
    pass


def read_request(conn, buf: bytearray) -> Optional[Request]:
    """Reads one request from conn (buf keeps leftover bytes). None on EOF."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEADER:
            raise HttpError("header too large")
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise HttpError("bad request line") from None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = read_chunked(conn, buf)
    else:
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            raise HttpError("body too large")
        while len(buf) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        body, buf[:] = bytes(buf[:length]), buf[length:]
    parsed = urllib.parse.urlsplit(target)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
    return Request(method.upper(), target, urllib.parse.unquote(parsed.path) or "/", query, headers,
                   body, version)


def read_chunked(conn, buf: bytearray) -> bytes:
    out = bytearray()
    while True:
        while b"\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                raise HttpError("eof in chunked body")
            buf += chunk
        size_line, _, rest = bytes(buf).partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        buf[:] = rest
        while len(buf) < size + 2:
            chunk = conn.recv(65536)
            if not chunk:
                raise HttpError("eof in chunked body")
            buf += chunk
        out += buf[:size]
        buf[:] = buf[size + 2:]
        if size == 0:
            return bytes(out)


def encode_response(resp: Response, head_only: bool, keep_alive: bool, pretty: bool,
                    extra_headers: dict) -> tuple:
    payload = resp.payload(pretty)
    headers = {"content-type": resp.content_type, **extra_headers, **resp.headers,
               "content-length": str(len(payload))}
    if not keep_alive:
        headers["connection"] = "close"
    lines = [f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Error')}"]
    for k, v in headers.items():
        for item in (v if isinstance(v, list) else [v]):
            lines.append(f"{k}: {item}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head, (b"" if head_only else payload)


class NodeServer:
    """Listens for one node. handle(request) -> Response runs per request;
    fault() returns the node's current fault (or None) before each answer."""

    def __init__(self, port: int, handle: Callable, fault: Callable, tls: Optional[ssl.SSLContext],
                 log: Callable):
        self.port = port
        self.handle = handle
        self.fault = fault
        self.tls = tls
        self.log = log
        self.sock: Optional[socket.socket] = None
        self.conns: set = set()
        self.lock = threading.Lock()
        self.released = threading.Event()  # set to release hung requests

    def start(self) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self.port = s.getsockname()[1]
        self.sock = s
        self.released.clear()
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self.port

    def stop(self) -> None:
        """Closes the listener (connections refused) and every open connection."""
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.released.set()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def running(self) -> bool:
        return self.sock is not None

    def _accept(self, s: socket.socket) -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self.lock:
            self.conns.add(conn)
        try:
            if self.tls is not None:
                conn.settimeout(10)
                conn = self.tls.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            buf = bytearray()
            while True:
                req = read_request(conn, buf)
                if req is None:
                    return
                keep_alive = req.headers.get("connection", "").lower() != "close" and req.version == "HTTP/1.1"
                if not self._answer(conn, req, keep_alive):
                    return
                if not keep_alive:
                    return
        except (OSError, HttpError, ssl.SSLError, ValueError):
            return
        finally:
            with self.lock:
                self.conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn, req: Request, keep_alive: bool) -> bool:
        """Applies the node's fault, then answers. False: close the connection."""
        f = self.fault()
        if f is not None:
            mode = f.get("mode")
            if mode == "hang":
                # Accepts and reads, never answers, until the fault is cleared.
                while self.fault() is not None and self.fault().get("mode") == "hang":
                    if self.released.wait(0.05):
                        return False
                return False
            if mode == "slow":
                time.sleep(f.get("ms", 0) / 1000.0)
            if mode == "break":
                how = f.get("how", "drop")
                if how == "drop":
                    return False
                if how == "non_json":
                    # Claims JSON, sends an HTML error page (a proxy in the way).
                    self._send(conn, Response(200, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
                               req, keep_alive)
                    return keep_alive
                if how == "truncated":
                    # The header promises the whole body; half of it comes, then the close.
                    resp = self.handle(req)
                    head, payload = encode_response(resp, False, False, False, {})
                    conn.sendall(head + payload[:max(1, len(payload) // 2)])
                    return False
        resp = self.handle(req)
        self._send(conn, resp, req, keep_alive)
        return keep_alive

    def _send(self, conn, resp: Response, req: Request, keep_alive: bool) -> None:
        head, payload = encode_response(resp, req.method == "HEAD", keep_alive, req.flag("pretty"), {})
        conn.sendall(head + payload)
