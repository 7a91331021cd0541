"""An HTTP server on $PORT for the daemon tests: every answer says which app, process and pid
served it, and every request is printed as `hit <path>` (so a test can make a log line appear
on demand)."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        print(f"hit {self.path}", flush=True)
        body = json.dumps({"app": os.environ.get("RP_APP"),
                           "process": os.environ.get("RP_PROCESS"),
                           "pid": os.getpid(), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"whoami listening on port {os.environ['PORT']}", flush=True)
    server.serve_forever()
