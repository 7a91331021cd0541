"""A web app that talks in colour: at start it prints a red line (ANSI escape codes) and listens on
$PORT; every request prints "hit PATH" and answers its pid as JSON; GET /burst/N prints N lines
more ("burst 1" ... "burst N") before it answers."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

print("\x1b[31mred boot line\x1b[0m and \x1b[1;32mbold green\x1b[0m", flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        print(f"hit {self.path}", flush=True)
        if self.path.startswith("/burst/"):
            n = int(self.path.rsplit("/", 1)[1])
            print("\n".join(f"burst {i} \x1b[33m{'x' * 60}\x1b[0m" for i in range(1, n + 1)),
                  flush=True)
        body = json.dumps({"pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
