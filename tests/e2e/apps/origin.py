"""The app behind the proxy in the proxy tests: a small HTTP/1.1 server with one path per
behaviour to check. Started by rp as a Procfile process; listens on $PORT (on ::1 only when
ORIGIN_V6=1). Every request it receives is appended to $ORIGIN_LOG, so a test can prove that a
request was NOT forwarded."""

import hashlib
import json
import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOG = os.environ.get("ORIGIN_LOG")
STATE = os.environ.get("ORIGIN_STATE", ".")


def wait_for_file(name, timeout=30):
    path = os.path.join(STATE, name)
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body leave in separate writes; with Nagle on, the body would wait for the
    # peer's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if os.environ.get("ORIGIN_QUIET") != "1":
            print(fmt % args, flush=True)

    def record(self):
        if LOG:
            with open(LOG, "a") as f:
                f.write(f"{self.command} {self.path}\n")

    def read_body(self):
        """Reads the request body in pieces (never whole): its length and SHA-256."""
        digest, n = hashlib.sha256(), 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 16))
                    digest.update(data)
                    n += len(data)
                    left -= len(data)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", 0))
            while left:
                data = self.rfile.read(min(left, 1 << 16))
                if not data:
                    break
                digest.update(data)
                n += len(data)
                left -= len(data)
        return n, digest.hexdigest()

    def send_json(self, obj, status=200, head_only=False):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def echo(self, head_only=False):
        n, digest = self.read_body()
        self.send_json({
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_length": n,
            "body_sha256": digest,
            "process": os.environ.get("RP_PROCESS"),
            "client_port": self.client_address[1],
        }, head_only=head_only)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        self.record()
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/big":
            n = int(query["n"][0])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"x" * (1 << 16)
            while n:
                part = block[:min(n, len(block))]
                self.wfile.write(part)
                n -= len(part)
        elif url.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(query.get("parts", ["5"])[0])):
                self.chunk(b"part %d\n" % i)
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/sse":
            # Event 2 is only sent once the test has seen event 1: a proxy that buffers hangs.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.chunk(b"data: one\n\n")
            wait_for_file("next")
            self.chunk(b"data: two\n\n")
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/hang":
            # Never answers; notes when the proxy closes the connection.
            self.connection.recv(1)
            open(os.path.join(STATE, "hang-closed"), "w").close()
            self.close_connection = True
        elif url.path == "/ignore":
            # Takes none of the request body, and never answers: an app stuck with an upload.
            time.sleep(3600)
        elif url.path == "/nocontent":
            self.send_response(204)
            self.end_headers()
        elif url.path == "/notmodified":
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
        elif url.path == "/until-close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"body without a length")
            self.close_connection = True
        else:
            self.echo()

    def do_HEAD(self):
        self.record()
        self.echo(head_only=True)

    do_POST = do_PUT = do_DELETE = do_OPTIONS = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when a proxy opens many at once (100
    # HTTP/2 streams), and the client's SYN is retried only a second later.
    request_queue_size = 256
    address_family = socket.AF_INET6 if os.environ.get("ORIGIN_V6") == "1" else socket.AF_INET


def main():
    host = "::1" if Server.address_family == socket.AF_INET6 else "127.0.0.1"
    server = Server((host, int(os.environ["PORT"])), Handler)
    print(f"origin listening on {host} port {os.environ['PORT']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
