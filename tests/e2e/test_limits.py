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

from conftest import (RP_BIN, daemon_pid, free_dns_port, process_alive, rss_kib, run_rp,
                      stop_daemon, wait_until)

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
    dns_port = free_dns_port()
    pid = start_daemon(dict(rp_env, RP_DNS_PORT=str(dns_port)), files=256)
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
        # DNS over TCP meets the same shortage, and pauses too.
        flood.append(socket.create_connection(("127.0.0.1", dns_port), timeout=10))
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
    # It accepts again once connections close (said at an accept a second after the last failure,
    # when the queue the flood left has drained), and said each once.
    assert wait_until(lambda: p.request("GET", "/after")[0] == 200
                      and "accepting connections again" in daemon_log(rp_home), timeout=30)
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


# --- slow clients and apps ----------------------------------------------------------------------

SLOW = "header_timeout: 2s\n"


def growth_while(pid, action):
    """Runs `action()`, sampling the daemon's RSS meanwhile: the most it grew, in KiB."""
    base = rss_kib(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        action()
    finally:
        done.set()
        t.join()
    return peak[0] - base


def trickle_until_closed(conns, byte, give_up=60):
    """Sends one `byte` on every connection in `conns` twice a second (a slowloris, which keeps
    any per-read timer from firing) until rp has closed each; fails after `give_up` seconds.
    What rp answered, per connection."""
    answers = {s: b"" for s in conns}
    open_ones = set(conns)
    deadline = time.monotonic() + give_up
    while open_ones:
        assert time.monotonic() < deadline, f"{len(open_ones)} connections still open"
        for s in list(open_ones):
            try:
                s.sendall(byte)
            except OSError:
                open_ones.discard(s)
                continue
            s.setblocking(False)
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        open_ones.discard(s)
                        break
                    answers[s] += chunk
            except BlockingIOError:
                pass
            except OSError:
                open_ones.discard(s)
            s.setblocking(True)
        time.sleep(0.5)
    return answers


def test_slowloris_heads_end_with_408_in_bounded_memory(proxied, rp_home):
    p = proxied(ORIGIN_QUIET, config=SLOW)
    pid = daemon_pid(rp_home)
    conns = []

    def attack():
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            s.sendall(f"GET / HTTP/1.1\r\nHost: {p.project.app}.test\r\nX-A: ".encode())
            conns.append(s)
        answers = trickle_until_closed(conns, b"a")
        assert all(a.startswith(b"HTTP/1.1 408 ") or a == b"" for a in answers.values())

    grew = growth_while(pid, attack)
    print(f"200 slowloris heads: daemon RSS grew {grew} KiB")
    assert grew < 64 * 1024
    for s in conns:
        s.close()
    assert p.request("GET", "/after")[0] == 200


def test_slowloris_bodies_are_cut_in_bounded_memory(proxied, rp_home):
    p = proxied(ORIGIN_QUIET, config=SLOW)
    pid = daemon_pid(rp_home)
    conns = []

    def attack():
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            s.sendall(f"POST /upload HTTP/1.1\r\nHost: {p.project.app}.test\r\n"
                      "Content-Length: 1000000\r\n\r\n".encode() + b"b" * 100)
            conns.append(s)
        trickle_until_closed(conns, b"b")

    grew = growth_while(pid, attack)
    print(f"100 slowloris bodies: daemon RSS grew {grew} KiB")
    assert grew < 64 * 1024
    for s in conns:
        s.close()
    # Each is in the app's log as a request rp cut short.
    p.run.wait_for(r"POST /upload .*cut short", count=100, timeout=30)
    assert p.request("GET", "/after")[0] == 200


def test_a_client_that_never_reads_a_large_response_is_cut(proxied, rp_home):
    p = proxied(ORIGIN_QUIET, config=SLOW)
    pid = daemon_pid(rp_home)
    n = 200 << 20
    conns = []

    def attack():
        for _ in range(10):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(30)
            s.connect(("127.0.0.1", p.port))
            s.sendall(f"GET /big?n={n} HTTP/1.1\r\nHost: {p.project.app}.test\r\n\r\n".encode())
            conns.append(s)
        # None of them reads: rp holds what it has read from the app, and cuts each.
        p.run.wait_for(r"GET /big\?n=\d+ 200 .*cut short", count=10, timeout=60)

    grew = growth_while(pid, attack)
    print(f"10 clients not reading 200 MiB each: daemon RSS grew {grew} KiB")
    assert grew < 32 * 1024
    for s in conns:
        got = 0
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        assert got < n  # the connection ended, short of the whole body
        s.close()
    assert p.request("GET", "/after")[0] == 200


def test_an_app_that_never_reads_an_upload_is_cut(proxied, rp_home):
    p = proxied(ORIGIN_QUIET, config=SLOW)
    pid = daemon_pid(rp_home)
    n = 1 << 30
    ended = []

    def upload():
        with socket.create_connection(("127.0.0.1", p.port), timeout=60) as s:
            s.sendall(f"POST /ignore HTTP/1.1\r\nHost: {p.project.app}.test\r\n"
                      f"Content-Length: {n}\r\n\r\n".encode())
            block = b"u" * (1 << 16)
            sent = 0
            try:
                while sent < n:
                    sent += s.send(block)
                ended.append(("sent all", sent))
            except OSError as e:
                ended.append((type(e).__name__, sent))

    def attack():
        uploads = [threading.Thread(target=upload) for _ in range(5)]
        for t in uploads:
            t.start()
        p.run.wait_for(r"POST /ignore .*cut short", count=5, timeout=60)
        for t in uploads:
            t.join(timeout=60)

    grew = growth_while(pid, attack)
    print(f"5 uploads of 1 GiB to an app that reads none: daemon RSS grew {grew} KiB; {ended}")
    assert grew < 32 * 1024
    assert len(ended) == 5 and all(how != "sent all" for how, _ in ended)
    assert p.request("GET", "/after")[0] == 200


def h2_upload_until_reset(c, sid, give_up=60, trickle=None):
    """Sends on stream `sid` of H2 connection `c` until rp resets it: as fast as the window
    allows, or one `trickle` byte twice a second. Fails after `give_up` seconds."""
    import h2.exceptions
    deadline = time.monotonic() + give_up
    s = c.streams[sid]
    c.sock.settimeout(0.5)
    while s["reset"] is None:
        assert time.monotonic() < deadline, "the stream is still open"
        assert not c.closed, "rp closed the connection"
        try:
            room = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
            if trickle:
                room = min(room, 1)
            if room > 0:
                c.conn.send_data(sid, (trickle or b"u") * room)
                c.flush()
        except h2.exceptions.StreamClosedError:
            pass
        try:
            c.read_once()
        except socket.timeout:
            pass
        if trickle:
            time.sleep(0.5)
    return s["reset"]


def test_h2_slowloris_bodies_and_stuck_uploads_are_cut(proxied, rp_home, rp_env):
    from test_h2 import H2
    p = proxied(ORIGIN_QUIET, config=SLOW)
    pid = daemon_pid(rp_home)
    name = f"{p.project.app}.test"

    def attack():
        with H2(rp_env, name) as slow, H2(rp_env, name) as stuck:
            a = slow.request("/upload", method="POST", end=False,
                             headers=[("content-length", "1000000")])
            b = stuck.request("/ignore", method="POST", end=False)
            assert h2_upload_until_reset(slow, a, trickle=b"b") is not None
            assert h2_upload_until_reset(stuck, b) is not None
            # The connections go on.
            assert slow.get("/after")[0] == 200 and stuck.get("/after")[0] == 200

    grew = growth_while(pid, attack)
    print(f"h2 slowloris body and stuck upload: daemon RSS grew {grew} KiB")
    p.run.wait_for(r"POST /upload .*h2 cut short")
    p.run.wait_for(r"POST /ignore .*h2 cut short")
    assert grew < 32 * 1024


# --- after a load --------------------------------------------------------------------------------

def tasks(pid):
    return set(os.listdir(f"/proc/{pid}/task"))


def test_a_quiet_proxy_thread_is_renewed_once_and_its_connections_carry_on(proxied, rp_home):
    """Once a load has ended, each proxy thread hands its io_context to a fresh thread (glibc's
    per-thread cache of freed blocks goes back with the old one): once, not again while quiet,
    and the connections open across it go on as if nothing happened."""
    p = proxied(ORIGIN_QUIET, config="proxy_threads: 2\n")
    pid = daemon_pid(rp_home)
    host = f"{p.project.app}.test"
    kept = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    assert get(kept, host)[0] == 200
    for _ in range(200):  # on new connections: the kernel spreads them over both threads
        assert p.request("GET", "/load")[0] == 200
    before = tasks(pid)
    # Quiet from here: each thread is renewed 5 to 10 s after its last request.
    assert wait_until(lambda: len(tasks(pid) - before) == 2, timeout=30), (before, tasks(pid))
    renewed = tasks(pid)
    assert len(renewed) == len(before), (before, renewed)
    time.sleep(12)
    assert tasks(pid) == renewed  # nothing was done since: no more renewals
    assert get(kept, host)[0] == 200  # the connection outlived the thread that accepted it
    assert p.request("GET", "/after")[0] == 200
    kept.close()


# --- every listener binds again after a restart ------------------------------------------------

def time_wait_on(port):
    """Sockets in TIME_WAIT whose local port is `port`."""
    out = subprocess.run(["ss", "-Htan", "state", "time-wait", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def test_every_listener_binds_again_over_time_wait(proxied, rp_env, rp_home):
    dns_port = free_dns_port()
    env = dict(rp_env, RP_DNS_PORT=str(dns_port))
    p = proxied(ORIGIN_QUIET, env={"RP_DNS_PORT": str(dns_port)}, args=("-d",), ready=None)
    p.run.wait()
    http_port, https_port = int(env["RP_HTTP_PORT"]), int(env["RP_HTTPS_PORT"])
    host = f"{p.project.app}.test"
    assert wait_until(lambda: p.request("GET", "/")[0] == 200, timeout=30)
    # Connections that rp closes first, so that the TIME_WAIT is on rp's side of each port.
    for _ in range(3):
        # Read to the end: rp closes first (http.client would close as soon as it had the body).
        out = p.raw(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert out.startswith(b"HTTP/1.1 200 ")
        ctx = ssl.create_default_context(cafile=str(rp_home / "ca" / "rp-ca.pem"))
        with socket.create_connection(("127.0.0.1", https_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                while s.recv(65536):
                    pass
                # recv() ends at rp's close_notify, which comes just before its TCP close: wait
                # for the FIN too, so that rp surely closes first.
                with socket.socket(fileno=os.dup(s.fileno())) as plain:
                    plain.settimeout(10)
                    while plain.recv(65536):
                        pass
        with socket.create_connection(("127.0.0.1", dns_port), timeout=10) as s:
            s.sendall(b"\x00\x00")  # a message of length 0: rp ends the connection
            while s.recv(65536):
                pass
    for port in (http_port, https_port, dns_port):
        assert wait_until(lambda: time_wait_on(port), timeout=10), f"no TIME_WAIT on {port}"
    stop_daemon(rp_home)
    # Every TIME_WAIT is still there as the daemon starts again on the same ports.
    pid = start_daemon(env)
    for port in (http_port, https_port, dns_port):
        assert time_wait_on(port)
    log = daemon_log(rp_home).split("starting (pid")[-1]
    assert "cannot listen" not in log and "in use" not in log, log
    assert f"HTTP: listening on port {http_port}" in log
    assert f"HTTPS: listening on port {https_port}" in log
    assert str(dns_port) in log
    # And serves on each (the app was not linked: the new daemon does not know it).
    assert p.request("GET", "/")[0] == 404
    ctx = ssl.create_default_context(cafile=str(rp_home / "ca" / "rp-ca.pem"))
    with socket.create_connection(("127.0.0.1", https_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            assert s.recv(65536).startswith(b"HTTP/1.1 404 ")
    r = subprocess.run(["dig", "+short", "+tcp", "-p", str(dns_port), "@127.0.0.1", host],
                       capture_output=True, text=True, timeout=10)
    assert "127.0.0.1" in r.stdout
    assert process_alive(pid)
    run_rp(["down", p.project.app], p.project.path, env)


# --- RP_HOME on a full or read-only disk --------------------------------------------------------

def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


def unmount(path):
    subprocess.run(["umount", str(path)], capture_output=True)


@pytest.fixture
def own_home(tmp_path, rp_env):
    """An RP_HOME of its own for a test that mounts file systems in it; its daemon is stopped and
    every mount undone at teardown. Needs root (the CI VM runs the e2e tests as root)."""
    if os.geteuid() != 0:
        pytest.skip("mounts a tmpfs or a read-only bind mount: needs root (CI runs as root)")
    home = tmp_path / "own-home"
    home.mkdir()
    mounts = []
    try:
        yield home, dict(rp_env, RP_HOME=str(home)), mounts
    finally:
        stop_daemon(home)
        for path in reversed(mounts):
            unmount(path)


def wait_for_log_line(path, text):
    assert wait_until(lambda: path.exists() and text in path.read_text(errors="replace"),
                      timeout=15), f"{text!r} not in {path}"


def test_a_full_rp_home_keeps_the_apps_running_and_says_so_once(own_home, proxied):
    home, env, mounts = own_home
    mount("-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(home))
    mounts.append(home)
    p = proxied(ORIGIN, env={"RP_HOME": str(home)})
    app_log = home / "logs" / f"{p.project.app}.log"
    assert run_rp(["route", "first", "1111"], p.project.path, env)[0] == 0
    routes = (home / "routes.json").read_text()
    for i in range(5):
        assert p.request("GET", f"/before-{i}")[0] == 200
    wait_for_log_line(app_log, "GET /before-4")
    written = app_log.read_text()

    # Fill the disk.
    with open(home / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    long_path = "/during-" + "x" * 400
    for i in range(50):
        assert p.request("GET", f"{long_path}-{i}")[0] == 200  # the app serves on
    p.run.wait_for(r"rp +\| cannot write .*No space left on device")
    # A state change fails with a message that says why; the file keeps what it had.
    code, _, err = run_rp(["route", "second", "2222"], p.project.path, env)
    assert code != 0 and "No space left on device" in err, err
    assert (home / "routes.json").read_text() == routes
    # A little room comes back, enough for a batch or two but short of what rp waits for: the
    # lines are still not written, and nothing is said again (no "takes writes again", then
    # "cannot write" once more, with every batch).
    os.truncate(home / "filler", max(0, (home / "filler").stat().st_size - 64 * 1024))
    for i in range(50):
        assert p.request("GET", f"{long_path}-again-{i}")[0] == 200
        time.sleep(0.01)  # batches of a few lines each
    time.sleep(0.5)  # log batches go out every 100 ms
    assert len([line for line in p.run.lines if "cannot write" in line]) == 1, p.run.output()
    assert not [line for line in p.run.lines if "its log file takes writes" in line], p.run.output()
    # What the log file held is whole: no line lost, none torn.
    now = app_log.read_text()
    assert now.startswith(written)
    assert now.endswith("\n")

    # Room again: the log takes lines again, and says so once.
    (home / "filler").unlink()
    assert p.request("GET", "/after")[0] == 200
    p.run.wait_for(r"rp +\| its log file takes writes again")
    wait_for_log_line(app_log, "GET /after")
    assert app_log.read_text().startswith(written)
    assert p.run.proc.poll() is None


def test_a_read_only_rp_home_keeps_the_apps_running_and_says_so_once(own_home, proxied):
    home, env, mounts = own_home
    pid = start_daemon(env)
    (home / "apps").mkdir(exist_ok=True)
    for sub in ("logs", "apps"):
        # A read-only bind mount of the directory over itself.
        mount("--bind", str(home / sub), str(home / sub))
        mounts.append(home / sub)
        mount("-o", "remount,bind,ro", str(home / sub))
    p = proxied(ORIGIN, env={"RP_HOME": str(home)})
    for i in range(20):
        assert p.request("GET", f"/ro-{i}")[0] == 200
    p.run.wait_for(r"rp +\| cannot open .*Read-only file system")
    code, _, err = run_rp(["link"], p.project.path, env)
    assert code != 0 and "Read-only file system" in err, err
    for i in range(20):
        assert p.request("GET", f"/ro-again-{i}")[0] == 200
    time.sleep(0.5)
    assert len([line for line in p.run.lines if "Read-only file system" in line]) == 1, \
        p.run.output()
    assert p.run.proc.poll() is None and process_alive(pid)
