"""A small SPOP client for tests: HELLO as HAProxy 2.6 sends it, then
NOTIFY frames for the agent's `haes-route` message, each answered by an ACK
(docs/spoe.md; the wire format is in HAProxy's doc/SPOE.txt). One NOTIFY in
flight at a time, so latencies are the agent's, not a queue's.

    c = SpopClient(agent.spoe_port)
    ack = c.notify()            # the ACK's payload (bytes)
    seconds = c.notify_time()   # NOTIFY sent -> ACK read
"""

from __future__ import annotations

import socket
import struct
import time
import uuid

HAPROXY_HELLO, HAPROXY_DISCONNECT, NOTIFY = 1, 2, 3
AGENT_HELLO, AGENT_DISCONNECT, ACK = 101, 102, 103
FIN = 1
STRING, UINT32 = 8, 3


def varint(x: int) -> bytes:
    if x < 240:
        return bytes([x])
    out = [(x & 0xFF) | 0xF0]
    x = (x - 240) >> 4
    while x >= 128:
        out.append((x & 0xFF) | 0x80)
        x = (x - 128) >> 7
    out.append(x)
    return bytes(out)


def read_varint(b: bytes, i: int) -> tuple[int, int]:
    v = b[i]
    i += 1
    if v < 240:
        return v, i
    shift = 4
    while True:
        c = b[i]
        i += 1
        v += c << shift
        shift += 7
        if c < 128:
            return v, i


def name(s: str) -> bytes:
    raw = s.encode()
    return varint(len(raw)) + raw


def string(s: str) -> bytes:
    return bytes([STRING]) + name(s)


def frame(ftype: int, payload: bytes, sid: int = 0, fid: int = 0) -> bytes:
    body = bytes([ftype]) + struct.pack(">I", FIN) + varint(sid) + varint(fid) + payload
    return struct.pack(">I", len(body)) + body


class SpopError(Exception):
    pass


class SpopClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0, message: str = "haes-route"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.message = message
        self.sid = 0
        hello = (name("supported-versions") + string("2.0") + name("max-frame-size") + bytes([UINT32]) +
                 varint(16380) + name("capabilities") + string("pipelining") + name("engine-id") +
                 string(str(uuid.uuid4())))
        self.sock.sendall(frame(HAPROXY_HELLO, hello))
        ftype, _, _, _ = self.read_frame()
        if ftype != AGENT_HELLO:
            raise SpopError(f"expected AGENT-HELLO, got frame type {ftype}")

    def read_exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise SpopError("connection closed by the agent")
            out += chunk
        return out

    def read_frame(self) -> tuple[int, int, int, bytes]:
        (length,) = struct.unpack(">I", self.read_exact(4))
        body = self.read_exact(length)
        ftype = body[0]
        sid, i = read_varint(body, 5)
        fid, i = read_varint(body, i)
        return ftype, sid, fid, body[i:]

    def notify(self) -> bytes:
        """One NOTIFY of the route message (no arguments); returns the ACK's payload."""
        self.sid += 1
        self.sock.sendall(frame(NOTIFY, name(self.message) + bytes([0]), sid=self.sid, fid=1))
        ftype, sid, fid, payload = self.read_frame()
        if ftype != ACK or sid != self.sid or fid != 1:
            raise SpopError(f"expected ACK {self.sid}/1, got type {ftype} {sid}/{fid}")
        return payload

    def notify_time(self) -> float:
        t = time.perf_counter()
        self.notify()
        return time.perf_counter() - t

    def close(self) -> None:
        self.sock.close()


def p99(samples: list) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * 0.99))]
