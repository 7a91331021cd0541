"""What the proxy does with bad input and failing apps: 400/431 without forwarding anything,
408 for slow heads, idle connections closed, 502/504 pages with the app's state and output,
508 for loops, 503 over the connection limit."""

import pathlib
import socket
import subprocess
import sys
import time

import pytest

from conftest import APPS, Proxied, free_port, run_rp

ORIGIN = "web: exec $PY $APPS/origin.py\n"


def forwarded(p):
    log = p.project.path / "origin.log"
    return log.read_text().splitlines() if log.exists() else []


SMUGGLING = [
    ("content-length and chunked",
     "POST /a HTTP/1.1\r\nHost: {h}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: {h}\r\n\r\n"),
    ("two content-lengths",
     "POST /a HTTP/1.1\r\nHost: {h}\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
    ("bad chunk size",
     "POST /a HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
    ("obsolete line folding",
     "GET /a HTTP/1.1\r\nHost: {h}\r\nX-Folded: a\r\n b\r\n\r\n"),
    ("folding after an empty value",
     "GET /a HTTP/1.1\r\nHost: {h}\r\nX-Folded:\r\n b\r\n\r\n"),
    ("space before colon", "GET /a HTTP/1.1\r\nHost : {h}\r\n\r\n"),
    ("http/0.9", "GET /\r\nHost: {h}\r\n\r\n"),
    ("two hosts", "GET /a HTTP/1.1\r\nHost: {h}\r\nHost: other.test\r\n\r\n"),
    ("no host", "GET /a HTTP/1.1\r\n\r\n"),
    ("host with a second colon", "GET /a HTTP/1.1\r\nHost: {h}:80.evil.example\r\n\r\n"),
    ("host with user info", "GET /a HTTP/1.1\r\nHost: me@{h}\r\n\r\n"),
    ("garbage", "HELLO THERE\r\n\r\n"),
    ("bad version", "GET /a HTTP/9.9\r\nHost: {h}\r\n\r\n"),
]


@pytest.mark.parametrize("name,request_text", SMUGGLING, ids=[s[0] for s in SMUGGLING])
def test_malformed_requests_get_400_and_nothing_is_forwarded(proxied, name, request_text):
    p = proxied(ORIGIN)
    out = p.raw(request_text.format(h=f"{p.project.app}.test").encode())
    assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n"), out[:200]
    assert b"Connection: close" in out
    assert forwarded(p) == []
    # The proxy is still fine.
    assert p.request("GET", "/after")[0] == 200


def test_header_block_over_64_kib_gets_431(proxied):
    p = proxied(ORIGIN)
    big = "X-Big: " + "a" * 70_000 + "\r\n"
    out = p.raw(f"GET / HTTP/1.1\r\nHost: {p.project.app}.test\r\n{big}\r\n".encode())
    assert out.startswith(b"HTTP/1.1 431 ")
    many = "".join(f"X-H{i}: {'b' * 60}\r\n" for i in range(1200))
    out = p.raw(f"GET / HTTP/1.1\r\nHost: {p.project.app}.test\r\n{many}\r\n".encode())
    assert out.startswith(b"HTTP/1.1 431 ")
    assert forwarded(p) == []


def test_slow_header_gets_408_and_idle_connection_closes(proxied):
    p = proxied(ORIGIN, config="header_timeout: 1s\nkeepalive_timeout: 1s\n")
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {p.project.app}.test\r\n".encode())  # no end
        out = s.recv(65536)
        assert out.startswith(b"HTTP/1.1 408 ")
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(f"GET /one HTTP/1.1\r\nHost: {p.project.app}.test\r\n\r\n".encode())
        first = b""
        while not first.endswith(b"}"):
            first += s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        # Idle after its response: closed without a word.
        assert s.recv(65536) == b""


def test_app_never_listening_gets_504_with_its_output(proxied):
    # The request is held while the app boots; boot_timeout ends the wait.
    p = proxied("web: echo 'booting web'; echo 'error: no database' >&2; exec sleep 600\n",
                ready=r"web\.1 \| error: no database", rp_yaml="boot_timeout: 1s\nboot_page: false\n")
    status, headers, body = p.request("GET", "/")
    assert status == 504
    text = body.decode()
    assert f"504 Gateway Timeout: {p.project.app} / web" in text
    assert "web was not ready within 1s (boot_timeout in rp.yaml)" in text
    assert "web.1 running" in text
    assert "web.1 | booting web" in text and "web.1 | error: no database" in text
    status, headers, body = p.request("GET", "/", headers={"Accept": "text/html"})
    assert status == 504 and headers["content-type"].startswith("text/html")
    assert "<pre>web.1 | booting web\nweb.1 | error: no database\n</pre>" in body.decode()


def test_restarting_app_shows_its_state(proxied):
    p = proxied("web: echo 'crashing now'; exit 1\n", ready=r"restarting web\.1")
    status, _, body = p.request("GET", "/")
    assert status == 502
    assert "web.1 restarting" in body.decode() and "crashing now" in body.decode()


def test_connection_reset_gets_502(proxied):
    p = proxied("web: exec $PY $APPS/reset.py\n")
    status, _, body = p.request("GET", "/")
    assert status == 502
    assert "closed the connection without an answer" in body.decode()


def test_app_that_never_accepts_is_not_ready_and_gets_504(proxied):
    # Readiness by an HTTP answer: a probe connecting in the moment between the app's listen()
    # and its queue filling up (a loaded machine widens it) still gets no answer.
    p = proxied("web: exec $PY $APPS/no_accept.py\n", ready="never accepting",
                rp_yaml="boot_timeout: 2s\nprocesses:\n  web:\n    ready: {http: /}\n")
    status, _, body = p.request("GET", "/")
    assert status == 504
    assert "was not ready within 2s" in body.decode()
    assert "listening, never accepting" in body.decode()  # the log tail


def test_connect_timeout_gets_504(project, rp_env, tmp_path):
    # A static route has no readiness to wait for: a port that never accepts meets
    # connect_timeout.
    (pathlib.Path(rp_env["RP_HOME"]) / "config.yaml").write_text("connect_timeout: 1s\n")
    port = free_port()
    holder = subprocess.Popen([sys.executable, str(APPS / "no_accept.py")],
                              env=dict(rp_env, PORT=str(port)), stdout=subprocess.PIPE)
    try:
        assert b"never accepting" in holder.stdout.readline()
        code, _, err = run_rp(["route", "stuck", str(port)], project.path, rp_env)
        assert code == 0, err
        proxy = Proxied(None, int(rp_env["RP_HTTP_PORT"]), project)
        status, _, body = proxy.request("GET", "/", host="stuck.test")
        assert status == 504
        assert "did not accept a connection" in body.decode()
    finally:
        holder.kill()
        holder.wait()


def test_app_on_ipv6_loopback_only(proxied):
    p = proxied(ORIGIN, env={"ORIGIN_V6": "1"})
    p.run.wait_for(r"origin listening on ::1")
    for _ in range(3):  # the first finds ::1, the next remember it
        assert p.request("GET", "/v6")[0] == 200


def test_request_loop_gets_508(proxied):
    p = proxied("web: exec $PY $APPS/loop.py\n")
    status, _, body = p.request("GET", "/")
    assert status == 508
    assert "came back to rp" in body.decode()


def test_connection_limit_gets_503(proxied):
    p = proxied(ORIGIN, config="max_connections: 3\n")
    held = [socket.create_connection(("127.0.0.1", p.port), timeout=10) for _ in range(3)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {p.project.app}.test\r\n\r\n".encode())
            out = s.recv(65536)
        assert out.startswith(b"HTTP/1.1 503 ")
        assert b"too many open connections" in out
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    assert p.request("GET", "/")[0] == 200  # room again


def test_thousands_of_connections_hit_a_clear_limit_not_a_crash(proxied):
    p = proxied(ORIGIN, config="max_connections: 2000\n")
    held = []
    try:
        for _ in range(2000):
            held.append(socket.create_connection(("127.0.0.1", p.port), timeout=10))
        time.sleep(0.5)
        # Over the limit: a clear answer, at once.
        over = [socket.create_connection(("127.0.0.1", p.port), timeout=10) for _ in range(500)]
        for s in over:
            assert s.recv(65536).startswith(b"HTTP/1.1 503 "), "no 503 over the limit"
            s.close()
        # The connections within the limit still work.
        for s in held[:20]:
            s.sendall(f"GET /still HTTP/1.1\r\nHost: {p.project.app}.test\r\n\r\n".encode())
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    assert p.request("GET", "/after")[0] == 200
    assert p.run.proc.poll() is None  # rp is alive
