"""The demo web process of Procfile.example: answers every request with who it is.

Nothing but Python's standard library, so it runs on a bare Debian machine."""

import http.server
import json
import os
import signal
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(
            {
                "process": os.environ.get("RP_PROCESS"),
                "app": os.environ.get("RP_APP"),
                "port": int(os.environ["PORT"]),
                "url": os.environ.get("RP_URL"),
                "greeting": os.environ.get("GREETING"),
                "path": self.path,
            },
            indent=2,
        ).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


def main():
    port = int(os.environ["PORT"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{os.environ.get('RP_PROCESS')} listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
