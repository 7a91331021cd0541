"""rp under attack and short of resources: out of file descriptors, clients and apps that hold an
exchange still, listeners that bind again after a restart, RP_HOME on a full or read-only disk.
The daemon's CPU time and memory are read from /proc; generous bounds, never a speed."""

import os
import pathlib
import resource
import selectors
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (RP_BIN, daemon_pid, free_port, process_alive, rss_kib, run_rp, stop_daemon,
                      wait_until)

ORIGIN = "web: exec $PY $APPS/origin.py\n"
ORIGIN_QUIET = "web: ORIGIN_QUIET=1 exec $PY $APPS/origin.py\n"


def cpu_seconds(pid):
    """User and system CPU time process `pid` has used so far, all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def daemon_log(home):
    path = home / "logs" / "daemon.log"
    return path.read_text(errors="replace") if path.exists() else ""


def start_daemon(env, files=None):
    """`rp daemon`, which returns once the daemon listens; with `files`, under an open-files
    limit of that many, soft and hard (rp raises the soft limit to the hard one). Its pid."""

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    r = subprocess.run([RP_BIN, "daemon"], env=env, capture_output=True, text=True, timeout=30,
                       preexec_fn=limit if files else None)
    assert r.returncode == 0, r.stderr
    return daemon_pid(pathlib.Path(env["RP_HOME"]))


@pytest.fixture
def many_files():
    """This test process may open thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def get(s, host, path="/"):
    """One keep-alive GET on connection `s`: (status, body)."""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([line.split(b":")[1] for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        body += s.recv(65536)
    return int(head.split(b" ")[1]), body


# --- running out of descriptors ----------------------------------------------------------------

def test_out_of_descriptors_pauses_accepting_with_one_line(proxied, rp_env, rp_home, many_files):
    # A limit set above what the descriptors allow, so that accept() itself runs out.
    (rp_home / "config.yaml").write_text("max_connections: 100000\n")
    pid = start_daemon(rp_env, files=256)
    p = proxied(ORIGIN_QUIET)
    host = f"{p.project.app}.test"
    kept = [socket.create_connection(("127.0.0.1", p.port), timeout=10) for _ in range(4)]
    flood = []
    try:
        for s in kept:
            assert get(s, host)[0] == 200
        for _ in range(2000):
            flood.append(socket.create_connection(("127.0.0.1", p.port), timeout=10))
        assert wait_until(lambda: "out of file descriptors" in daemon_log(rp_home), timeout=30), \
            daemon_log(rp_home)[-2000:]
        # Paused, not spinning: over 3 s the daemon (two proxy threads with their acceptors)
        # uses a small part of one core.
        before = cpu_seconds(pid)
        time.sleep(3)
        used = cpu_seconds(pid) - before
        print(f"daemon CPU while out of descriptors: {used:.2f} s in 3 s")
        assert used < 1.0
        # The connections it had are served on: rp's own answers need no descriptor, and a
        # request that needs a new connection to the app is told why it cannot have one.
        for s in kept:
            assert get(s, "nothing.test")[0] == 404
            status, body = get(s, host, "/still")
            assert status == 200 or (status == 502 and b"Too many open files" in body), body
    finally:
        for s in flood:
            s.close()
    # It accepts again once connections close, and said each once.
    assert wait_until(lambda: "accepting connections again" in daemon_log(rp_home), timeout=30)
    assert wait_until(lambda: p.request("GET", "/after")[0] == 200, timeout=30)
    log = daemon_log(rp_home)
    assert log.count("out of file descriptors") == 1, log[-3000:]
    assert log.count("accepting connections again") == 1
    assert "the limit is 256" in log
    for s in kept:
        s.close()
    assert process_alive(pid)


def test_default_connection_limit_leaves_room_under_a_low_descriptor_limit(proxied, rp_env,
                                                                           rp_home, many_files):
    # No max_connections in config.yaml: (256 - 128) / 2 = 64 connections.
    pid = start_daemon(rp_env, files=256)
    p = proxied(ORIGIN_QUIET)
    host = f"{p.project.app}.test"
    held = []
    try:
        for _ in range(2000):
            held.append(socket.create_connection(("127.0.0.1", p.port), timeout=10))
        before = cpu_seconds(pid)
        # Those over the limit get a 503 at once; the others wait for a request.
        answered = {}
        with selectors.DefaultSelector() as sel:
            for s in held:
                sel.register(s, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while len(answered) < len(held) - 64 and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1):
                    answered[key.fileobj] = key.fileobj.recv(65536)
                    sel.unregister(key.fileobj)
        open_ones = [s for s in held if s not in answered]
        refused = sum(1 for a in answered.values() if a.startswith(b"HTTP/1.1 503 "))
        print(f"refused {refused}, held {len(open_ones)}, "
              f"daemon CPU {cpu_seconds(pid) - before:.2f} s")
        assert len(open_ones) <= 64
        assert refused >= 2000 - 64
        # Those within the limit are served: each has a descriptor left for its app connection.
        for s in open_ones:
            s.settimeout(10)
            assert get(s, host)[0] == 200
    finally:
        for s in held:
            s.close()
    assert "out of file descriptors" not in daemon_log(rp_home)
    assert wait_until(lambda: p.request("GET", "/after")[0] == 200, timeout=30)
    assert process_alive(pid)
