"""The web app of the on-demand tests. Each start appends its pid to $OD_BOOTS (to count boots);
it sleeps $OD_DELAY seconds before it listens on $PORT (on ::1 only with OD_V6=1); GET /up answers
503 for $OD_READY_AFTER seconds after that, then 200; every request is appended to $OD_REQUESTS as
"PATH STATUS"; /sleep/N answers after N seconds. Every path but /up answers JSON: pid, RP_PROCESS,
$OD_VALUE, the port and how many connections it has accepted so far."""

import json
import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def append(env_key, line):
    path = os.environ.get(env_key)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


append("OD_BOOTS", str(os.getpid()))
print(f"od_app {os.getpid()} booting", flush=True)
time.sleep(float(os.environ.get("OD_DELAY", "0")))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj):
        append("OD_REQUESTS", f"{self.path} {status}")
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/up":
            ready = time.monotonic() - LISTENING >= float(os.environ.get("OD_READY_AFTER", "0"))
            return self.answer(200 if ready else 503, {"ready": ready})
        if self.path.startswith("/sleep/"):  # /sleep/3: answers after 3 s
            time.sleep(float(self.path.rsplit("/", 1)[1]))
        self.answer(200, {"pid": os.getpid(), "process": os.environ.get("RP_PROCESS"),
                          "value": os.environ.get("OD_VALUE"), "port": int(os.environ["PORT"]),
                          "connections": self.server.accepted})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET6 if os.environ.get("OD_V6") == "1" else socket.AF_INET
    accepted = 0

    def get_request(self):
        request = super().get_request()
        self.accepted += 1
        return request


host = "::1" if Server.address_family == socket.AF_INET6 else "127.0.0.1"
server = Server((host, int(os.environ["PORT"])), Handler)
LISTENING = time.monotonic()
print(f"od_app listening on {host} port {os.environ['PORT']}", flush=True)
sys.exit(server.serve_forever())
