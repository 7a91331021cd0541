#!/usr/bin/python3
"""The daemon's benchmark, in one run on this machine:

1. Cold start: what a first request to a stopped, linked app costs beyond the app's own time to
   listen. The app (bench/apps/tiny_http.c, compiled here) writes when it started and when it
   listened; rp's overhead is the request's time minus that span. Reported as median and p90
   over RUNS cold starts (the app is stopped with `rp stop` between them).
2. Memory: the daemon's resident set (VmRSS, and its peak VmHWM) with 50 linked, idle apps.

    /usr/bin/python3 bench/cold_start.py [RUNS]     (default 30; needs build/rp: `make build`)

Every process is started here and stopped by pid at the end; all traffic stays on loopback.
"""

import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from rp_bench import ROOT, free_port, rp, status_kb, stop_daemon

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
LINKED = 50


def get(port, host):
    """One request on a fresh connection; returns the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="rp-bench-cold-"))
    home = work / "home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RP_")}
    env.update(RP_HOME=str(home), RP_HTTP_PORT=str(port), RP_DNS_PORT="0", NO_COLOR="1")
    daemon = None
    try:
        tiny = work / "tiny_http"
        subprocess.run(["cc", "-O2", "-o", str(tiny), str(ROOT / "bench/apps/tiny_http.c")],
                       check=True)
        times = work / "tiny.log"
        app = work / "cold"
        app.mkdir()
        (app / "Procfile").write_text(f"web: TINY_LOG={times} exec {tiny}\n")
        rp(env, app, "link")
        daemon = int((home / "rp.lock").read_text())

        totals, owns, overheads = [], [], []
        for _ in range(RUNS):
            rp(env, app, "stop", "cold")
            before = times.read_text().count("\n") if times.exists() else 0
            t0 = time.time()
            line = get(port, "cold.test")
            t1 = time.time()
            assert line.endswith("200 OK"), line
            lines = times.read_text().splitlines()
            assert len(lines) == before + 1, "the app did not start exactly once"
            started, listening = map(float, lines[-1].split())
            totals.append((t1 - t0) * 1000)
            owns.append((listening - started) * 1000)
            overheads.append((t1 - t0 - (listening - started)) * 1000)

        def p(values, q):
            return sorted(values)[min(len(values) - 1, int(q * len(values)))]

        print(f"cold start of a linked app, {RUNS} runs (ms):")
        print("| measure | median | p90 |")
        print("|---|---:|---:|")
        for name, values in (("first request, total", totals),
                             ("the app's own start-to-listen", owns),
                             ("rp's overhead (total minus the app's)", overheads)):
            print(f"| {name} | {statistics.median(values):.2f} | {p(values, 0.9):.2f} |")

        rp(env, app, "stop", "cold")
        for i in range(LINKED - 1):
            d = work / f"idle{i:02d}"
            d.mkdir()
            (d / "Procfile").write_text(f"web: exec {tiny}\n")
            rp(env, d, "link")
        status = rp(env, app, "status", "--json")
        assert status.count('"linked":true') == LINKED, "not every app is linked"
        print(f"\ndaemon with {LINKED} linked, idle apps: VmRSS {status_kb(daemon, 'VmRSS')} kB, "
              f"VmHWM {status_kb(daemon, 'VmHWM')} kB")
    except Exception:
        for log in sorted((home / "logs").glob("*.log")):
            print(f"--- {log}:\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        if daemon:
            stop_daemon(daemon)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
