#!/usr/bin/python3
"""A stand-in Elasticsearch node for routing tests: answers every request
with the cluster and node it stands for, so a test sees where HAProxy sent
each request. Usage: echo_node.py CLUSTER NODE PORT"""

import http.server
import json
import sys

CLUSTER, NODE, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        # "status" makes GET /_cluster/health a valid green answer, so the
        # agent's HealthMonitor sees a healthy stand-in cluster.
        body = json.dumps({"cluster_name": CLUSTER, "name": NODE, "status": "green"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
