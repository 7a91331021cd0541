#!/usr/bin/python3
"""The daemon's benchmark, in one run on this machine:

1. Cold start: what a first request to a stopped, linked app costs, against the same app started
   bare. The app is bench/apps/tiny_http.c (compiled here), run from a Procfile line without
   shell syntax (`web: /path/to/tiny_http`; what it needs besides PORT comes from .env). Each
   run is a pair, taken in turns (rp, bare, rp, bare...):
   - rp: the app is stopped with `rp stop`; then one request through rp's proxy, timed from
     before the connection to the end of the answer (rp starts the app, waits until it listens,
     forwards the request);
   - bare: the benchmark itself starts the same binary with posix_spawn (no shell) and the same
     environment shape (PORT, TINY_LOG), connects in a tight loop until the port accepts (the
     best any readiness probe could see), sends the same request and reads the answer, timed
     from the spawn to the end of the answer; then kills the app and reaps it by pid.
   rp's own part is rp's time minus bare's: reported as the median of the per-pair differences
   and as the difference of the medians. The app also writes when its `main` began and when it
   listened, so its own start-to-listen span is shown for both.
2. Memory: the daemon's resident set (VmRSS, and its peak VmHWM) with 50 linked, idle apps.

    /usr/bin/python3 bench/cold_start.py [RUNS]     (default 30 pairs; needs build/rp or RP_BIN)

Pinned where the machine has the cores: the daemon (so the apps it starts) and the bare apps on
CPU 1 (BENCH_SERVER_CPU), the client (this script, the `rp` commands it runs) on CPU 0
(BENCH_CLIENT_CPU), with sched_setaffinity. The daemon inherits CPU 1 from `rp link`, run while
this script is on CPU 1; a bare app from the posix_spawn call, made on CPU 1 too (the script
moves there, spawns, and moves back: the move back, a few microseconds, counts in bare's time).
Both are checked in /proc.

Every process is started here and stopped by pid at the end; all traffic stays on loopback.
"""

import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from rp_bench import ROOT, free_port, rp, status_kb, stop_daemon

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
LINKED = 50
CLIENT_CPU = int(os.environ.get("BENCH_CLIENT_CPU", "0"))
SERVER_CPU = int(os.environ.get("BENCH_SERVER_CPU", "1"))
PIN = {CLIENT_CPU, SERVER_CPU} <= os.sched_getaffinity(0) and CLIENT_CPU != SERVER_CPU


def on_cpu(cpu):
    """Moves this script to CPU (no-op unpinned): what it starts from there inherits it."""
    if PIN:
        os.sched_setaffinity(0, {cpu})


def cpus_of(pid):
    """The CPUs PID may run on, as /proc says ("1", "0-1")."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split()[1]
    return "?"


def request(host):
    return f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def exchange(s, host):
    """The request on connected socket S, and the answer to its end; returns the status line."""
    s.sendall(request(host))
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def get(port, host):
    """One request on a fresh connection; returns the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        return exchange(s, host)


def bare_start(tiny, env, port):
    """The app started bare: posix_spawn from SERVER_CPU, no shell; then a connection in a tight
    loop until the port accepts, the request, the answer; then the app killed and reaped. Returns
    the seconds from the spawn to the end of the answer, the status line and the CPUs the app
    could run on."""
    on_cpu(SERVER_CPU)
    t0 = time.perf_counter()
    pid = os.posix_spawn(tiny, [tiny], {**env, "PORT": str(port)})
    on_cpu(CLIENT_CPU)
    try:
        deadline = t0 + 10
        while True:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", port))
                break
            except ConnectionRefusedError:
                s.close()
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the bare app (pid {pid}) does not listen on {port}")
        with s:
            line = exchange(s, "cold.test")
        t1 = time.perf_counter()
        return t1 - t0, line, cpus_of(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def p(values, q):
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="rp-bench-cold-"))
    home = work / "home"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RP_")}
    env.update(RP_HOME=str(home), RP_HTTP_PORT=str(port), RP_DNS_PORT="0", NO_COLOR="1")
    daemon = None
    try:
        tiny = str(work / "tiny_http")
        subprocess.run(["cc", "-O2", "-o", tiny, str(ROOT / "bench/apps/tiny_http.c")],
                       check=True)
        times = work / "tiny.log"
        app = work / "cold"
        app.mkdir()
        (app / "Procfile").write_text(f"web: {tiny}\n")  # no shell syntax
        (app / ".env").write_text(f"TINY_LOG={times}\n")
        bare_env = {k: v for k, v in os.environ.items() if not k.startswith("RP_")}
        bare_env["TINY_LOG"] = str(times)

        on_cpu(SERVER_CPU)  # the daemon `rp link` starts inherits it
        rp(env, app, "link")
        on_cpu(CLIENT_CPU)
        daemon = int((home / "rp.lock").read_text())

        def starts():
            return times.read_text().count("\n") if times.exists() else 0

        def own_span(before):
            """The app's start-to-listen of the start just made, in ms (it wrote one line)."""
            lines = times.read_text().splitlines()
            assert len(lines) == before + 1, "the app did not start exactly once"
            started, listening = map(float, lines[-1].split())
            return (listening - started) * 1000

        rp_totals, bare_totals, rp_owns, bare_owns, parts = [], [], [], [], []
        app_cpus = set()
        for _ in range(RUNS):
            rp(env, app, "stop", "cold")
            before = starts()
            t0 = time.perf_counter()
            line = get(port, "cold.test")
            t1 = time.perf_counter()
            assert line.endswith("200 OK"), line
            rp_totals.append((t1 - t0) * 1000)
            rp_owns.append(own_span(before))

            before = starts()
            took, line, cpus = bare_start(tiny, bare_env, free_port())
            assert line.endswith("200 OK"), line
            bare_totals.append(took * 1000)
            bare_owns.append(own_span(before))
            parts.append(rp_totals[-1] - bare_totals[-1])
            app_cpus.add(cpus)

        for task in pathlib.Path(f"/proc/{daemon}/task").iterdir():  # rp's app, still running
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue  # a proxy thread that ended meanwhile (rp renews them once quiet)
            for child in children:
                app_cpus.add(cpus_of(int(child)))
        pinned = "yes" if PIN else "no (wants two CPUs: BENCH_CLIENT_CPU, BENCH_SERVER_CPU)"
        print(f"pinned: {pinned}; this script on CPU {cpus_of(os.getpid())}, rp's daemon on "
              f"{cpus_of(daemon)}, the apps (rp's and bare) on {', '.join(sorted(app_cpus))}")
        print(f"\ncold start of a linked app, {RUNS} pairs taken in turns (rp, bare, ...), ms:")
        print("| measure | median | p90 |")
        print("|---|---:|---:|")
        for name, values in (("rp: first request through rp, total", rp_totals),
                             ("bare: spawn, connect, request, answer", bare_totals),
                             ("rp's own part: rp minus bare, per pair", parts),
                             ("the app's own start-to-listen, under rp", rp_owns),
                             ("the app's own start-to-listen, bare", bare_owns)):
            print(f"| {name} | {statistics.median(values):.2f} | {p(values, 0.9):.2f} |")
        print(f"\nrp's own part as the difference of the medians: "
              f"{statistics.median(rp_totals) - statistics.median(bare_totals):.2f} ms")

        rp(env, app, "stop", "cold")
        for i in range(LINKED - 1):
            d = work / f"idle{i:02d}"
            d.mkdir()
            (d / "Procfile").write_text(f"web: {tiny}\n")
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
