#!/usr/bin/python3
"""Captures the SPOP frames a real HAProxy sends, for the codec's golden tests.

Runs the installed /usr/sbin/haproxy with an SPOE filter whose message carries
one argument of every type HAProxy can send, and `option spop-check`, against
a minimal agent written here (it answers AGENT-HELLO, ACK and DISCONNECT).
Every frame received from HAProxy is printed as spaced hex with its type:

    tests/unit/spoe/golden/capture.py > frames.txt

The frames in tests/unit/spoe/golden_frames.hpp came from this script run
against Debian 12's HAProxy 2.6.12. Loopback only, ports chosen at run time.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "lib"))
from haestest.spop import read_varint  # noqa: E402

NAMES = {1: "HAPROXY-HELLO", 2: "HAPROXY-DISCONNECT", 3: "NOTIFY"}
# AGENT-HELLO: version "2.0", max-frame-size 16380, capabilities "pipelining"
AGENT_HELLO = bytes.fromhex(
    "65 00000001 00 00"
    " 07 76657273696f6e 08 03 322e30"
    " 0e 6d61782d6672616d652d73697a65 03 fcf006"
    " 0c 6361706162696c6974696573 08 0a 706970656c696e696e67")
AGENT_DISCONNECT = bytes.fromhex(
    "66 00000001 00 00 0b 7374617475732d636f6465 03 00 07 6d657373616765 08 00")

captured = []
lock = threading.Lock()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(conn, frame):
    conn.sendall(struct.pack(">I", len(frame)) + frame)


def serve(conn):
    buf = b""
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                (n,) = struct.unpack(">I", buf[:4])
                if len(buf) < 4 + n:
                    break
                frame, buf = buf[4:4 + n], buf[4 + n:]
                with lock:
                    captured.append(frame)
                ftype = frame[0]
                if ftype == 1:
                    send(conn, AGENT_HELLO)
                    if b"healthcheck" in frame:
                        return
                elif ftype == 3:
                    sid, i = read_varint(frame, 5)
                    fid, i = read_varint(frame, i)
                    ack = bytes([103]) + struct.pack(">I", 1)
                    for v in (sid, fid):
                        ack += bytes([v]) if v < 240 else b""  # small ids only here
                    ack += bytes.fromhex("01 03 02 03 61 63 6b 11")  # set-var txn ack=true
                    send(conn, ack)
                elif ftype == 2:
                    send(conn, AGENT_DISCONNECT)
                    return


def agent(port, stop):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    srv.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    srv.close()


CFG = """
global
    stats socket {dir}/stats.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe_port}
    filter spoe engine cap config {dir}/spoe.conf
    http-request return status 200 content-type text/plain lf-string "%[var(txn.cap.ack)]"
backend spoe
    mode tcp
    timeout server 1s
    option spop-check
    server a 127.0.0.1:{agent_port} check inter 300ms
"""

SPOE = """
[cap]
spoe-agent cap
    messages haes-route
    option var-prefix cap
    register-var-names ack
    timeout hello 1s
    timeout idle 500ms
    timeout processing 1s
    use-backend spoe
spoe-message haes-route
    args cluster=str(dc1) node=str(es1) n=int(-1) big=int(300) ok=bool(1) no=bool(0) v4=ipv4(192.168.1.10) v6=ipv6(2001:db8::1) bin=bin(deadbeef) missing=req.hdr(x-missing) method
    event on-frontend-http-request
"""


def main():
    agent_port, fe_port = free_port(), free_port()
    stop = threading.Event()
    threading.Thread(target=agent, args=(agent_port, stop), daemon=True).start()
    with tempfile.TemporaryDirectory() as d:
        open(f"{d}/haproxy.cfg", "w").write(CFG.format(dir=d, fe_port=fe_port, agent_port=agent_port))
        open(f"{d}/spoe.conf", "w").write(SPOE)
        hap = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", f"{d}/haproxy.cfg"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{fe_port}/", timeout=2).read()
                    if body == b"1":
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            # idle timeout (500ms) makes HAProxy close the SPOP connection with a DISCONNECT
            deadline = time.time() + 5
            while time.time() < deadline and not any(f[0] == 2 for f in captured):
                time.sleep(0.1)
        finally:
            hap.send_signal(signal.SIGTERM)
            hap.wait(timeout=10)
            stop.set()
    seen = set()
    for frame in captured:
        kind = NAMES.get(frame[0], str(frame[0]))
        if kind == "HAPROXY-HELLO" and b"healthcheck" in frame:
            kind = "HAPROXY-HELLO (healthcheck)"
        if kind in seen:
            continue
        seen.add(kind)
        print(f"# {kind}, {len(frame)} bytes after the 4-byte length")
        full = struct.pack(">I", len(frame)) + frame
        print(" ".join(f"{b:02x}" for b in full))
    return 0 if {"HAPROXY-HELLO", "NOTIFY", "HAPROXY-HELLO (healthcheck)"} <= seen else 1


if __name__ == "__main__":
    sys.exit(main())
