#!/usr/bin/python3
"""What connections cost the daemon in memory, and whether it gives it back:

1. Idle keep-alive connections: CONNS clients (default 10,000) each send one request on a kept
   connection, read the answer and stay quiet. The daemon's VmRSS before and with them (12 s
   after the last one came: rp lets go of what the requests used once it has been quiet for
   5-10 s) gives the cost of one idle connection.
2. Release: 12 s after they all closed, VmRSS again.
3. After a load: wrk with 50 connections for 5 s, then 12 s of quiet, VmRSS against before.

    /usr/bin/python3 bench/memory.py [CONNS]     (needs build/rp: `make build`; wrk for 3)

The app is bench/apps/tiny_http.c (compiled here). Every process is started here and stopped by
pid at the end; all traffic stays on loopback.
"""

import os
import pathlib
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from rp_bench import ROOT, free_port, rp, status_kb, stop_daemon

CONNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def rss(pid):
    return status_kb(pid, "VmRSS")


def open_idle(port, host, count):
    """`count` connections, each with one answered keep-alive request; returns the sockets.
    One after the other, as idle connections gather in practice (a browser's, a test suite's)."""
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(request)
        data = b""
        while b"ok\n" not in data:
            chunk = s.recv(4096)
            assert chunk, "the connection closed before its answer"
            data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:100]
        socks.append(s)
    return socks


def settle(pid, seconds):
    time.sleep(seconds)
    return rss(pid)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < CONNS + 100:
        sys.exit(f"memory.py: the descriptor limit ({hard}) is below {CONNS} connections")
    work = pathlib.Path(tempfile.mkdtemp(prefix="rp-bench-memory-"))
    home = work / "home"
    home.mkdir()
    (home / "config.yaml").write_text(f"max_connections: {CONNS + 1000}\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RP_")}
    env.update(RP_HOME=str(home), RP_HTTP_PORT=str(port), RP_DNS_PORT="0", RP_HTTPS_PORT="0",
               NO_COLOR="1")
    daemon = None
    try:
        tiny = work / "tiny_http"
        subprocess.run(["cc", "-O2", "-o", str(tiny), str(ROOT / "bench/apps/tiny_http.c")],
                       check=True)
        app = work / "mem"
        app.mkdir()
        (app / "Procfile").write_text(f"web: exec {tiny}\n")
        rp(env, app, "link")
        daemon = int((home / "rp.lock").read_text())
        for s in open_idle(port, "mem.test", 20):  # the app runs, the threads have worked
            s.close()
        before = settle(daemon, 12)

        socks = open_idle(port, "mem.test", CONNS)
        held = settle(daemon, 12)
        for s in socks:
            s.close()
        released = settle(daemon, 12)

        print(f"daemon VmRSS, {CONNS} idle keep-alive connections (kB):")
        print("| before | with them | per connection | 12 s after they closed |")
        print("|---:|---:|---:|---:|")
        print(f"| {before} | {held} | {(held - before) / CONNS * 1024:.0f} B | {released} "
              f"({released - before:+d}) |")

        if shutil.which("wrk"):
            start = rss(daemon)
            subprocess.run(["wrk", "-t2", "-c50", "-d5s", "-H", "Host: mem.test",
                            f"http://127.0.0.1:{port}/"], check=True, capture_output=True)
            loaded = rss(daemon)
            after = settle(daemon, 12)
            print(f"\nwrk -c50 for 5 s: VmRSS {start} kB before, {loaded} kB at its end, "
                  f"{after} kB 12 s later ({after - start:+d})")
    finally:
        if daemon:
            stop_daemon(daemon)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
