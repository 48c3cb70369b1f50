"""A TCP proxy the tests own, one per path (agent -> essim node, agent -> etcd
member, agent -> agent), to break that path on demand.

The kernel here has no netem, so delay, loss and bandwidth limits come from
this proxy: point the client at proxy.port instead of the service's port.
Pass-through by default; then:

    proxy.cut("refuse")     # listener closed: connect() gets ECONNREFUSED; open connections reset
    proxy.cut("reset")      # accepted, then RST at once: ECONNRESET (from connect() or the first read)
    proxy.cut("blackhole")  # accepted, never forwarded: the client times out; open
                            # connections stall (nothing moves either way)
    proxy.heal()            # back to pass-through; stalled and held connections resume
    proxy.delay(200)        # +200 ms per chunk, both directions (or direction="up"/"down")
    proxy.loss(0.3)         # each new connection: reset with probability 0.3 (mode="stall": held)
    proxy.slow(10_000)      # at most 10 kB/s per direction, shared by all connections

"up" is client -> target, "down" is target -> client. proxy.stats() counts
connections and bytes. Every proxy of the process runs on one asyncio event
loop in a daemon thread; FaultProxy.start(procs, ...) closes it with the
test's ProcessGroup.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Optional

from haestest.proc import ProcessGroup, free_port

DIRECTIONS = ("up", "down")
CUT_MODES = ("refuse", "reset", "blackhole")
EXISTING_MODES = ("reset", "stall", "keep")
LOSS_MODES = ("reset", "stall")


class _Loop:
    """The one event loop (in a daemon thread) all proxies of the process share."""
    _lock = threading.Lock()
    _loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="faultproxy-loop", daemon=True).start()
                cls._loop = loop
            return cls._loop


def _rst(writer: Optional[asyncio.StreamWriter]) -> None:
    """Closes a connection with a RST (SO_LINGER 0), not a FIN."""
    if writer is None:
        return
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


def _client_gone(reader: asyncio.StreamReader) -> bool:
    """Whether the peer of reader closed or reset (bytes it sent before may
    still sit unread in the buffer, so at_eof() cannot tell)."""
    return bool(getattr(reader, "_eof", False)) or reader.exception() is not None


@dataclass
class _Conn:
    id: int
    client: asyncio.StreamWriter
    upstream: Optional[asyncio.StreamWriter] = None
    doomed: bool = False  # chose "stall" by loss: never forwarded
    closed: bool = False


class FaultProxy:
    """listen (host, port) -> target (host, port), with faults on demand."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", listen_host: str = "127.0.0.1",
                 listen_port: Optional[int] = None, name: Optional[str] = None, seed: Optional[int] = None):
        self.target = (target_host, target_port)
        self.host = listen_host
        self.port = listen_port or free_port()
        self.name = name or f"proxy:{self.port}->{target_port}"
        self._loop = _Loop.get()
        self._random = random.Random(seed)
        self._server: Optional[asyncio.base_events.Server] = None
        self._conns: dict[int, _Conn] = {}
        self._next_id = 0
        self._closed = False
        # Settings (read on the loop; changed through _on_loop).
        self._cut: Optional[str] = None
        self._delay = {"up": 0.0, "down": 0.0}            # seconds
        self._rate: dict[str, Optional[float]] = {"up": None, "down": None}  # bytes/s
        self._next_free = {"up": 0.0, "down": 0.0}        # pacing, per direction
        self._loss = (0.0, "reset")
        self._flowing: Optional[asyncio.Event] = None     # cleared while cut: stalls everything
        self._counts = {"accepted": 0, "forwarded": 0, "reset": 0, "held": 0, "upstream_failed": 0,
                        "bytes_up": 0, "bytes_down": 0}
        self._on_loop(self._open())

    @classmethod
    def start(cls, procs: Optional[ProcessGroup], target_port: int, **kw) -> "FaultProxy":
        """A proxy closed with the test's ProcessGroup (kw: see __init__)."""
        proxy = cls(target_port, **kw)
        if procs is not None:
            procs.defer(proxy.close)
        return proxy

    # ---- addresses ----------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}"

    # ---- faults ---------------------------------------------------------------

    def cut(self, mode: str = "blackhole", existing: Optional[str] = None) -> None:
        """Breaks the path. mode: "refuse" (the listening socket is closed:
        connect() is refused), "reset" (accepted, then reset at once: the
        client sees ECONNRESET from connect() or its first read), "blackhole"
        (accepted and held: the client's own timeout ends it). existing: what
        happens to open connections — "reset", "stall" (nothing moves either
        way until heal()) or "keep"; by default reset for refuse and reset,
        stall for blackhole."""
        if mode not in CUT_MODES:
            raise ValueError(f"{self.name}: cut mode {mode!r} is not one of {CUT_MODES}")
        existing = existing or ("stall" if mode == "blackhole" else "reset")
        if existing not in EXISTING_MODES:
            raise ValueError(f"{self.name}: existing={existing!r} is not one of {EXISTING_MODES}")
        self._on_loop(self._set_cut(mode, existing))

    def heal(self) -> None:
        """Back to pass-through: no cut, delay, loss or rate limit. Stalled
        connections resume and held ones are forwarded (if their client is
        still there), as TCP does when a partition heals."""
        self._on_loop(self._heal())

    def delay(self, ms: float, direction: str = "both") -> None:
        """Each chunk is forwarded ms after it was read (latency, not
        throughput: chunks in flight overlap). 0 removes it."""
        for d in self._directions(direction):
            self._delay[d] = max(0.0, ms) / 1000.0

    def slow(self, bytes_per_sec: Optional[float], direction: str = "both") -> None:
        """At most bytes_per_sec per direction, all connections together
        (a thin link). None or 0 removes the limit."""
        for d in self._directions(direction):
            self._rate[d] = float(bytes_per_sec) if bytes_per_sec else None

    def loss(self, p: float, mode: str = "reset") -> None:
        """Each new connection is lost with probability p: reset at once
        ("reset") or held and never forwarded ("stall"; heal() releases
        nothing: those are lost). 0 removes it."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{self.name}: loss probability {p} is not in [0, 1]")
        if mode not in LOSS_MODES:
            raise ValueError(f"{self.name}: loss mode {mode!r} is not one of {LOSS_MODES}")
        self._loss = (p, mode)

    def reset_connections(self) -> int:
        """Resets every open connection (both sides); returns how many."""
        return self._on_loop(self._reset_all())

    def retarget(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        """New connections go to another target (open ones stay where they are)."""
        self.target = (target_host, target_port)

    def stats(self) -> dict:
        """accepted, forwarded (upstream connected), reset (by the proxy),
        held (blackholed or stalled by loss), upstream_failed, active,
        bytes_up, bytes_down; and the current faults."""
        out = dict(self._counts)
        out["active"] = len(self._conns)
        out["cut"] = self._cut
        out["delay_ms"] = {d: self._delay[d] * 1000 for d in DIRECTIONS}
        out["rate"] = dict(self._rate)
        out["loss"] = self._loss
        return out

    def close(self) -> None:
        """Stops listening and resets every connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._on_loop(self._shutdown())

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- on the loop ------------------------------------------------------------

    def _directions(self, direction: str) -> tuple:
        if direction == "both":
            return DIRECTIONS
        if direction not in DIRECTIONS:
            raise ValueError(f"{self.name}: direction {direction!r} is not one of up, down, both")
        return (direction,)

    def _on_loop(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=15)

    async def _open(self) -> None:
        if self._flowing is None:
            self._flowing = asyncio.Event()
            self._flowing.set()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                sock.bind((self.host, self.port))
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    sock.close()
                    raise RuntimeError(f"{self.name}: cannot listen on {self.address} again: {e}") from e
                await asyncio.sleep(0.05)
        sock.listen(256)
        sock.setblocking(False)
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def _set_cut(self, mode: str, existing: str) -> None:
        self._cut = mode
        if mode == "refuse" and self._server is not None:
            self._server.close()  # closes the listening socket now; connections are ours
            self._server = None
        if existing == "reset":
            await self._reset_all()
        elif existing == "stall":
            self._flowing.clear()

    async def _heal(self) -> None:
        self._cut = None
        self._delay = {"up": 0.0, "down": 0.0}
        self._rate = {"up": None, "down": None}
        self._loss = (0.0, "reset")
        self._flowing.set()
        if self._server is None and not self._closed:
            await self._open()

    async def _reset_all(self) -> int:
        conns = list(self._conns.values())
        for c in conns:
            self._drop(c, rst=True)
        return len(conns)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._reset_all()
        self._flowing.set()

    def _drop(self, c: _Conn, rst: bool) -> None:
        if c.closed:
            return
        c.closed = True
        self._conns.pop(c.id, None)
        if rst:
            self._counts["reset"] += 1
            _rst(c.client)
            _rst(c.upstream)
        else:
            for w in (c.client, c.upstream):
                if w is not None:
                    w.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._next_id += 1
        c = _Conn(self._next_id, writer)
        self._conns[c.id] = c
        self._counts["accepted"] += 1
        try:
            if self._closed or self._cut in ("reset", "refuse"):
                self._drop(c, rst=True)
                return
            p, mode = self._loss
            if p and self._random.random() < p:
                if mode == "reset":
                    self._drop(c, rst=True)
                    return
                c.doomed = True
            if c.doomed or self._cut == "blackhole":
                self._counts["held"] += 1
                # Held until heal() (never, when doomed) or until the client
                # leaves: then nothing it sent may reach the target, as with
                # a real partition.
                while (c.doomed or self._cut == "blackhole") and not c.closed:
                    if _client_gone(reader):
                        self._drop(c, rst=False)
                        return
                    await asyncio.sleep(0.05)
                if c.closed:
                    return
                if self._cut in ("reset", "refuse"):
                    self._drop(c, rst=True)
                    return
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
            except (OSError, asyncio.TimeoutError):
                self._counts["upstream_failed"] += 1
                self._drop(c, rst=True)
                return
            if c.closed:
                _rst(up_writer)
                return
            c.upstream = up_writer
            self._counts["forwarded"] += 1
            await asyncio.gather(self._pump(c, reader, up_writer, "up"),
                                 self._pump(c, up_reader, writer, "down"))
            self._drop(c, rst=False)
        except Exception:  # noqa: BLE001 - one connection's trouble ends that connection only
            self._drop(c, rst=True)

    async def _wait_flowing(self, c: _Conn) -> None:
        """Returns when the path flows again or the connection is gone."""
        while not self._flowing.is_set() and not c.closed:
            try:
                await asyncio.wait_for(self._flowing.wait(), 0.1)
            except asyncio.TimeoutError:
                pass

    async def _pump(self, c: _Conn, src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: str) -> None:
        """Reads src, and forwards each chunk after the direction's delay, at
        its rate, while the path flows; EOF is passed on as a half-close."""
        queue: asyncio.Queue = asyncio.Queue()
        writer_task = asyncio.ensure_future(self._deliver(c, queue, dst, direction))
        try:
            while True:
                await self._wait_flowing(c)
                if c.closed:
                    return
                try:
                    data = await src.read(65536)
                except (ConnectionError, OSError):
                    self._drop(c, rst=True)  # a reset on one side resets the other
                    return
                queue.put_nowait((time.monotonic() + self._delay[direction], data))
                if not data:
                    break
            await writer_task  # it ends at the EOF just queued, or when c closes
        finally:
            writer_task.cancel()

    async def _deliver(self, c: _Conn, queue: asyncio.Queue, dst: asyncio.StreamWriter, direction: str) -> None:
        while not c.closed:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._wait_flowing(c)
            if c.closed:
                return
            if not data:
                try:
                    if dst.can_write_eof():
                        dst.write_eof()
                except (ConnectionError, OSError):
                    pass
                return
            try:
                for piece in self._paced(data, direction):
                    await self._pace(len(piece), direction)
                    await self._wait_flowing(c)
                    if c.closed:
                        return
                    dst.write(piece)
                    await dst.drain()
                    self._counts["bytes_" + direction] += len(piece)
            except (ConnectionError, OSError):
                self._drop(c, rst=True)
                return

    def _paced(self, data: bytes, direction: str):
        rate = self._rate[direction]
        if not rate:
            yield data
            return
        step = max(1, int(rate / 50))  # ~20 ms worth per piece: smooth, not bursty
        for i in range(0, len(data), step):
            yield data[i:i + step]

    async def _pace(self, n: int, direction: str) -> None:
        rate = self._rate[direction]
        if not rate:
            return
        now = time.monotonic()
        start = max(now, self._next_free[direction])
        self._next_free[direction] = start + n / rate
        if start > now:
            await asyncio.sleep(start - now)
