#!/usr/bin/python3
"""What the dashboard costs the daemon: its CPU time and memory while an app prints
LINES_PER_SECOND lines, first with no dashboard open, then with TABS dashboards open. A tab here
is what the page keeps open (tests/e2e/test_dashboard_browser.py drives the real page): the
status events (GET /v1/events) and the app's log (GET /v1/logs?follow=1), read as they come,
through rp's proxy at rp.test. Chromium itself would take the machine's two cores; its own cost
is not rp's.

    /usr/bin/python3 bench/dashboard.py [SECONDS] [TABS]   (defaults 10 and 10; needs build/rp)

Every process is started here and stopped by pid at the end; all traffic stays on loopback.
"""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from rp_bench import RP, free_port, rp, status_kb

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10
TABS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
LINES_PER_SECOND = 1000

CHATTY = f"""
import os, sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H)
threading.Thread(target=server.serve_forever, daemon=True).start()
n = 0
while True:
    n += 1
    print(f"\\x1b[32mchatty\\x1b[0m line {{n}}: GET /products/{{n % 97}} 200 in 3 ms", flush=True)
    time.sleep(1 / {LINES_PER_SECOND})
"""




def cpu_seconds(pid):
    """utime + stime of every thread of `pid`."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")



class Tab:
    """The two streams a dashboard tab keeps open, read until stop()."""

    def __init__(self, port):
        self.received = 0
        self.sockets = []
        self.threads = []
        for path in ("/v1/events", "/v1/logs?app=chatty&n=500&follow=1"):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: rp.test:{port}\r\n\r\n".encode())
            self.sockets.append(s)
            t = threading.Thread(target=self.read, args=(s,), daemon=True)
            t.start()
            self.threads.append(t)

    def read(self, s):
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.received += len(chunk)

    def stop(self):
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def measure(daemon, seconds):
    c0, t0 = cpu_seconds(daemon), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(daemon), time.monotonic()
    return (c1 - c0) / (t1 - t0) * 100, status_kb(daemon, 'VmRSS')


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="rp-bench-dashboard-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RP_")}
    env.update(RP_HOME=str(work / "home"), RP_HTTP_PORT=str(port), RP_HTTPS_PORT="0",
               RP_DNS_PORT="0", NO_COLOR="1")
    app = work / "chatty"
    app.mkdir()
    (app / "chatty.py").write_text(CHATTY)
    (app / "Procfile").write_text("web: exec /usr/bin/python3 chatty.py\n")
    daemon = None
    tabs = []
    try:
        rp(env, app, "link")
        daemon = int((work / "home" / "rp.lock").read_text())
        rp(env, app, "start", "chatty")
        time.sleep(2)
        idle_cpu, idle_rss = measure(daemon, SECONDS)
        tabs = [Tab(port) for _ in range(TABS)]
        time.sleep(2)
        open_cpu, open_rss = measure(daemon, SECONDS)
        got = sum(t.received for t in tabs)
        for t in tabs:
            t.stop()
        tabs = []
        time.sleep(3)
        after_cpu, after_rss = measure(daemon, SECONDS)
        print(f"the daemon, an app printing {LINES_PER_SECOND} lines/s, {SECONDS:.0f} s each:")
        print("| dashboards open | daemon CPU (% of one core) | daemon RSS (MiB) |")
        print("|---|---:|---:|")
        print(f"| none | {idle_cpu:.1f} | {idle_rss / 1024:.1f} |")
        print(f"| {TABS} tabs (events + live log each) | {open_cpu:.1f} | {open_rss / 1024:.1f} |")
        print(f"| none again, after they closed | {after_cpu:.1f} | {after_rss / 1024:.1f} |")
        print(f"({got / 1024 / 1024:.1f} MiB reached the tabs)")
    finally:
        for t in tabs:
            t.stop()
        subprocess.run([RP, "daemon", "stop"], env=env, capture_output=True, timeout=30)
        if daemon:
            try:
                os.kill(daemon, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
