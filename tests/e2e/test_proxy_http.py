"""HTTP through the proxy: keep-alive and pipelining, HTTP/1.0, 100-continue, chunked and large
bodies streamed both ways with flat memory, forwarded and hop-by-hop headers, responses without
a body, Server-Sent Events as they happen."""

import hashlib
import sys
import json
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import check_events_arrive_one_by_one, wait_until

ORIGIN = "web: exec $PY $APPS/origin.py\n"


def parse_responses(data):
    """Splits concatenated HTTP/1.1 responses with Content-Length bodies."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        out.append((status, head, rest[:length]))
        data = rest[length:]
    return out


def test_keep_alive_reuses_connections_both_sides(proxied):
    p = proxied(ORIGIN)
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
    ports = set()
    for i in range(5):
        conn.request("GET", f"/echo/{i}", headers={"Host": f"{p.project.app}.test"})
        r = conn.getresponse()
        doc = json.loads(r.read())
        assert r.status == 200 and doc["path"] == f"/echo/{i}"
        ports.add(doc["client_port"])
    conn.close()
    assert len(ports) == 1  # one pooled upstream connection served all five


def test_pipelined_requests_get_responses_in_order(proxied):
    p = proxied(ORIGIN)
    host = f"{p.project.app}.test"
    reqs = b"".join(f"GET /p{i} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for i in range(5))
    reqs = reqs[:-2] + b"Connection: close\r\n\r\n"
    responses = parse_responses(p.raw(reqs))
    assert [json.loads(body)["path"] for _, _, body in responses] == [f"/p{i}" for i in range(5)]


def test_http_1_0(proxied):
    p = proxied(ORIGIN)
    out = p.raw(f"GET /old HTTP/1.0\r\nHost: {p.project.app}.test\r\n\r\n".encode())
    assert out.startswith(b"HTTP/1.1 200")
    assert b"\r\nConnection: close\r\n" in out
    # A chunked answer is unchunked for a 1.0 client, which cannot read chunks.
    out = p.raw(f"GET /chunked HTTP/1.0\r\nHost: {p.project.app}.test\r\n\r\n".encode())
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"chunked" not in head.lower()
    assert body == b"".join(b"part %d\n" % i for i in range(5))


def test_http_1_0_keep_alive_is_announced(proxied):
    p = proxied(ORIGIN)
    host = f"{p.project.app}.test"
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        for i in range(2):  # both on one connection, as `ab -k` does
            s.sendall(f"GET /k{i} HTTP/1.0\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n"
                      .encode())
            data = b""
            while not data.endswith(b"}"):
                chunk = s.recv(65536)
                assert chunk, data
                data += chunk
            assert b"\r\nConnection: keep-alive\r\n" in data
            assert json.loads(data.partition(b"\r\n\r\n")[2])["path"] == f"/k{i}"


def test_expect_100_continue(proxied):
    p = proxied(ORIGIN)
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(f"POST /upload HTTP/1.1\r\nHost: {p.project.app}.test\r\n"
                  "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n".encode())
        interim = s.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")  # before the body is sent
        s.sendall(b"hello")
        data = b""
        while b"}" not in data:
            data += s.recv(65536)
    assert b"HTTP/1.1 200" in data
    assert json.loads(data.partition(b"\r\n\r\n")[2])["body_length"] == 5


def test_chunked_request_body_is_streamed(proxied):
    p = proxied(ORIGIN)
    parts = [os.urandom(n) for n in (1, 1000, 70000, 5)]
    body = b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in parts) + b"0\r\n\r\n"
    out = p.raw(f"POST /up HTTP/1.1\r\nHost: {p.project.app}.test\r\nTransfer-Encoding: chunked"
                "\r\nConnection: close\r\n\r\n".encode() + body)
    doc = json.loads(out.partition(b"\r\n\r\n")[2])
    whole = b"".join(parts)
    assert doc["body_length"] == len(whole)
    assert doc["body_sha256"] == hashlib.sha256(whole).hexdigest()


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def test_one_gib_up_and_down_with_flat_memory(proxied, rp_home):
    p = proxied(ORIGIN)
    url = f"http://127.0.0.1:{p.port}"
    host = f"Host: {p.project.app}.test"
    gib = 1 << 30
    # The daemon's threads proxy it; what it held before is its baseline (a sanitizer build
    # starts much higher).
    daemon = int((rp_home / "rp.lock").read_text())
    before = peak_rss_kib(daemon)
    # Download: curl counts what arrives.
    r = subprocess.run(["curl", "-sS", "-H", host, "-o", "/dev/null", "-w", "%{size_download}",
                        f"{url}/big?n={gib}"], capture_output=True, text=True, timeout=300)
    assert r.stdout == str(gib), r.stderr
    # Upload from a generator: never a whole body anywhere, rp included.
    upload = subprocess.Popen(["curl", "-sS", "-H", host, "-T", "-", f"{url}/upload"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    block = b"y" * (1 << 20)
    digest = hashlib.sha256()
    for _ in range(1024):
        upload.stdin.write(block)
        digest.update(block)
    upload.stdin.close()
    doc = json.loads(upload.stdout.read())
    assert upload.wait(timeout=300) == 0
    assert doc["body_length"] == gib and doc["body_sha256"] == digest.hexdigest()
    # 1 GiB went each way; the daemon's peak memory hardly grew.
    assert peak_rss_kib(daemon) - before < 64 * 1024


def test_forwarded_and_hop_by_hop_headers(proxied):
    p = proxied(ORIGIN)
    status, _, body = p.request("GET", "/h", headers={
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https-spoofed",
        "Connection": "keep-alive, X-Secret",
        "X-Secret": "must not pass",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Connection": "keep-alive",
        "X-Kept": "yes",
    })
    assert status == 200
    headers = {}
    for k, v in json.loads(body)["headers"]:
        headers.setdefault(k.lower(), []).append(v)
    assert headers["host"] == [f"{p.project.app}.test"]                 # unchanged
    assert headers["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]     # appended
    assert headers["x-forwarded-proto"] == ["http"]                     # rp's, not the client's
    assert headers["x-forwarded-host"] == [f"{p.project.app}.test"]
    assert headers["x-forwarded-port"] == [str(p.port)]
    assert headers["x-kept"] == ["yes"]
    for gone in ("x-secret", "keep-alive", "te", "proxy-connection"):
        assert gone not in headers, gone
    assert "close" not in headers.get("connection", [""])[0].lower()


def test_responses_without_body(proxied):
    p = proxied(ORIGIN)
    host = f"{p.project.app}.test"
    reqs = (f"HEAD /echo HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET /nocontent HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET /notmodified HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET /last HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").encode()
    out = p.raw(reqs)
    # If any of the first three carried a body, the next status line would not follow directly.
    heads = out.split(b"\r\n\r\n")
    assert heads[0].startswith(b"HTTP/1.1 200") and b"Content-Length: " in heads[0]
    assert heads[1].startswith(b"HTTP/1.1 204")
    assert heads[2].startswith(b"HTTP/1.1 304") and b'ETag: "v1"' in heads[2]
    assert heads[3].startswith(b"HTTP/1.1 200")
    assert json.loads(heads[4])["path"] == "/last"


def test_response_until_close_is_rechunked_for_http11(proxied):
    p = proxied(ORIGIN)
    status, headers, body = p.request("GET", "/until-close")
    assert status == 200 and body == b"body without a length"
    assert headers.get("transfer-encoding") == "chunked"


def test_server_sent_events_arrive_one_by_one(proxied):
    p = proxied(ORIGIN)
    with socket.create_connection(("127.0.0.1", p.port), timeout=15) as s:
        check_events_arrive_one_by_one(s, f"{p.project.app}.test", p.project)


def test_client_disconnect_cancels_the_upstream_request(proxied):
    p = proxied(ORIGIN)
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    s.sendall(f"GET /hang HTTP/1.1\r\nHost: {p.project.app}.test\r\n\r\n".encode())
    assert wait_until(lambda: "GET /hang" in (p.project.path / "origin.log").read_text()
                      if (p.project.path / "origin.log").exists() else False)
    s.close()
    # The app sees its connection from rp closed.
    assert wait_until(lambda: (p.project.path / "hang-closed").exists(), timeout=10)


def test_client_that_leaves_at_once_still_cancels_the_upstream_request(proxied):
    """rp begins to watch the client only after an exchange has taken 50 ms (a quick answer then
    costs no wait on the client): a client gone before that is seen when the watch begins."""
    p = proxied(ORIGIN)
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    s.sendall(f"GET /hang HTTP/1.1\r\nHost: {p.project.app}.test\r\n\r\n".encode())
    s.close()
    assert wait_until(lambda: "GET /hang" in (p.project.path / "origin.log").read_text()
                      if (p.project.path / "origin.log").exists() else False)
    assert wait_until(lambda: (p.project.path / "hang-closed").exists(), timeout=10)


def test_kept_alive_connection_closed_by_the_app_is_not_an_error(proxied):
    p = proxied("web: exec $PY $APPS/closer.py\n")
    for _ in range(5):
        status, _, body = p.request("GET", "/")
        assert (status, body) == (200, b"ok")
        time.sleep(0.2)  # the app closes its side meanwhile


def test_output_nobody_reads_does_not_hold_requests_back(project, rp_env):
    """Ctrl-S in the terminal, or a pager left paused: rp's output stops being read. The app
    here writes nothing per request, so only rp's access lines pile up; requests must flow."""
    import http.client
    import pathlib

    from conftest import APPS, RP_BIN, pids_with_env
    project.write("Procfile", f"web: exec {sys.executable} {APPS}/origin.py\n")
    env = dict(rp_env, ORIGIN_QUIET="1")
    port = int(env["RP_HTTP_PORT"])
    rp = subprocess.Popen([RP_BIN, "up"], cwd=project.path, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # never read
    try:
        assert wait_until(lambda: requests_ok(port, project.app, 1), timeout=15)
        # Far more access lines than a pipe holds (64 KiB): ~3000 lines of ~60 bytes.
        assert requests_ok(port, project.app, 3000)
    finally:
        rp.send_signal(2)
        try:
            rp.communicate(timeout=30)
        finally:
            if rp.poll() is None:
                rp.kill()
            for pid in pids_with_env("RP_APP", project.app):
                os.kill(pid, 9)


def requests_ok(port, app, n):
    import http.client
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(n):
            conn.request("GET", f"/{i}", headers={"Host": f"{app}.test"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                return False
        conn.close()
        return True
    except OSError:
        return False
