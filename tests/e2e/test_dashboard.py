"""The dashboard at rp.<tld>, over raw HTTP through rp's proxy: the page and the API answer only
to rp's own name, every answer carries a strict Content-Security-Policy and no CORS, no GET
changes state, and a change needs the page's own Origin and the token only the page carries. The
same API paths as the rp command's (one route table). A real browser drives it in
test_dashboard_browser.py."""

import http.client
import json
import pathlib
import re
import socket
import ssl
import time

import pytest

from conftest import (APPS, app_status, daemon_pid, kill_pids, pids_with_env, rss_kib,
                      stop_daemon, wait_until)

PY = "/usr/bin/python3"


@pytest.fixture
def dash(project, rp_home, rp_env, rpc):
    """A linked, stopped app `project.app`, and rp's HTTP port; everything stopped at the end."""
    project.write("Procfile", f"web: exec {PY} {APPS / 'od_app.py'}\n")
    code, out, err = rpc("link")
    assert code == 0, out + err
    yield int(rp_env["RP_HTTP_PORT"])
    stop_daemon(rp_home)
    kill_pids(set(pids_with_env("RP_HOME", str(rp_home))) |
              set(pids_with_env("RP_APP", project.app)))


def request(port, method, path, host=None, headers=None, body=None, tls=False):
    """(status, headers lower-cased, body) from rp's port, Host rp.test:PORT unless given."""
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"rp.test:{port}")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def token_of(port, tls=False):
    status, headers, body = request(port, "GET", "/", tls=tls)
    assert status == 200, body
    m = re.search(rb'name="rp-token" content="([0-9a-f]{64})"', body)
    assert m, body[:500]
    return m.group(1).decode()


def change(port, path, origin=None, token=None, body="{}", content_type="application/json"):
    headers = {"Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = origin
    if token is not None:
        headers["X-Rp-Token"] = token
    return request(port, "POST", path, headers=headers, body=body)


def test_the_page_comes_with_a_strict_policy_and_a_token(dash):
    status, headers, body = request(dash, "GET", "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert not [h for h in headers if h.startswith("access-control")]
    token = token_of(dash)
    assert token == token_of(dash)  # one per daemon
    for path, kind in (("/dashboard.js", "text/javascript"), ("/dashboard.css", "text/css")):
        status, headers, body = request(dash, "GET", path)
        assert status == 200 and headers["content-type"].startswith(kind), path
        assert "content-security-policy" in headers
    # The API the rp command uses, as the page reads it.
    status, headers, body = request(dash, "GET", "/v1/status")
    assert status == 200 and "content-security-policy" in headers
    assert [a["name"] for a in json.loads(body)["apps"]]


def test_only_rp_s_own_name_reaches_the_dashboard(dash, project):
    # A name that merely contains rp.test is some other name: rp's list of apps (404), not the
    # dashboard, and no token in it.
    for host in (f"rp.test.evil.example:{dash}", f"xrp.test:{dash}", f"evil.example:{dash}"):
        status, _, body = request(dash, "GET", "/", host=host)
        assert status == 404, host
        assert b"rp-token" not in body
    status, _, _ = request(dash, "GET", "/", host=f"rp.localhost:{dash}")
    assert status == 200


def test_the_dashboard_s_listener_refuses_a_foreign_host(dash, rp_home):
    # A DNS-rebinding page that reaches the dashboard's own loopback port directly.
    pid = daemon_pid(rp_home)
    ports = listening_ports(pid)
    assert dash in ports
    for port in ports - {dash}:
        status, headers, body = request(port, "GET", "/", host=f"evil.example:{port}")
        if status == 403 and b"rp.<tld>" in body:
            break
    else:
        pytest.fail(f"no listener of the daemon refused a foreign Host: {ports}")


def listening_ports(pid):
    """The TCP ports process `pid` listens on (from /proc/net/tcp and its fds)."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", str(target))
        if m:
            inodes.add(m.group(1))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                ports.add(int(fields[1].split(":")[1], 16))
    return ports


def test_no_get_changes_state(dash, project, rp_home):
    for path in (f"/v1/apps/{project.app}/start", f"/v1/apps/{project.app}/restart",
                 "/v1/daemon/stop", "/v1/up"):
        status, _, _ = request(dash, "GET", path)
        assert status == 404, path
    assert app_status(rp_home, project.app)["state"] == "stopped"
    assert daemon_pid(rp_home)


def test_a_change_needs_the_page_s_origin_and_token(dash, project, rp_home):
    token = token_of(dash)
    own = f"http://rp.test:{dash}"
    path = f"/v1/apps/{project.app}/start"
    refused = [
        change(dash, path, origin="http://evil.example", token=token),       # CSRF with a token
        change(dash, path, origin=own),                                       # no token
        change(dash, path, origin=own, token="0" * 64),                       # a wrong one
        change(dash, path, token=token),                                      # no Origin
        change(dash, path, origin="null", token=token),
        change(dash, path, origin=f"http://rp.test:{dash + 1}", token=token),  # another port
        change(dash, path, origin=own, token=token, body="{}",                # a form's post
               content_type="application/x-www-form-urlencoded"),
    ]
    for status, headers, body in refused:
        assert status == 403, body
        assert "content-security-policy" in headers
        assert not [h for h in headers if h.startswith("access-control")]
    assert app_status(rp_home, project.app)["state"] == "stopped"

    status, _, body = change(dash, path, origin=own, token=token)
    assert status == 200, body
    assert app_status(rp_home, project.app)["state"] == "running"
    pid = app_status(rp_home, project.app)["processes"][0]["pid"]
    # One process, as `rp restart APP/PROC` does.
    status, _, body = change(dash, f"/v1/apps/{project.app}/restart", origin=own, token=token,
                             body='{"process": "web"}')
    assert status == 200, body
    assert wait_until(lambda: app_status(rp_home, project.app)["processes"][0]["pid"]
                      not in (None, pid), timeout=30)


def test_what_the_page_may_not_do_at_all(dash, project, rp_home):
    token = token_of(dash)
    own = f"http://rp.test:{dash}"
    for path in ("/v1/daemon/stop", "/v1/up", "/v1/links", f"/v1/apps/{project.app}/down",
                 f"/v1/apps/{project.app}/kill"):
        status, _, body = change(dash, path, origin=own, token=token,
                                 body=json.dumps({"dir": "/tmp"}))
        assert status == 403, (path, body)
    status, headers, _ = request(dash, "OPTIONS", f"/v1/apps/{project.app}/start",
                                 headers={"Origin": "http://evil.example",
                                          "Access-Control-Request-Method": "POST"})
    assert status == 405
    assert not [h for h in headers if h.startswith("access-control")]
    assert daemon_pid(rp_home)
    assert app_status(rp_home, project.app)["state"] == "stopped"


def test_bad_bodies_and_unknown_names(dash, project, rp_home):
    token = token_of(dash)
    own = f"http://rp.test:{dash}"
    status, _, body = change(dash, f"/v1/apps/{project.app}/start", origin=own, token=token,
                             body="{not json")
    assert status == 400, body
    status, _, body = change(dash, f"/v1/apps/{project.app}/start", origin=own, token=token,
                             body='{"x": "' + "a" * (2 << 20) + '"}')
    assert status == 413, body[:200]
    status, _, body = change(dash, "/v1/apps/nosuch/start", origin=own, token=token)
    assert status == 404 and b"nosuch" in body
    status, _, body = change(dash, f"/v1/apps/{project.app}/stop", origin=own, token=token,
                             body='{"process": "nosuch"}')
    assert status == 404, body
    assert app_status(rp_home, project.app)["state"] == "stopped"
    assert daemon_pid(rp_home)


def test_the_dashboard_over_https(dash, rp_env):
    port = int(rp_env["RP_HTTPS_PORT"])
    status, headers, body = request(port, "GET", "/", host=f"rp.test:{port}", tls=True)
    assert status == 200 and b"rp-token" in body
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_an_app_may_not_be_called_rp(project, rpc, rp_home):
    project.write("Procfile", "web: sleep 100\n")
    project.write("rp.yaml", "name: rp\n")
    code, out, err = rpc("link")
    assert code != 0
    assert "the name rp is rp's own (rp.<tld> is its dashboard)" in out + err
    code, out, err = rpc("route", "rp", "3000")
    assert code != 0 and "rp's own" in out + err


def test_events_push_the_status_when_it_changes(dash, project, rpc):
    def events(sock, buffered):
        """The next Server-Sent Event's data, parsed (comments skipped)."""
        while True:
            while b"\n\n" not in buffered[0]:
                chunk = sock.recv(65536)
                assert chunk, "the stream ended"
                buffered[0] += chunk
            event, _, buffered[0] = buffered[0].partition(b"\n\n")
            data = [line[6:] for line in event.split(b"\n") if line.startswith(b"data: ")]
            if data:
                return json.loads(b"".join(data))

    with socket.create_connection(("127.0.0.1", dash), timeout=30) as s:
        s.sendall(f"GET /v1/events HTTP/1.1\r\nHost: rp.test:{dash}\r\n\r\n".encode())
        buffered = [b""]
        while b"\r\n\r\n" not in buffered[0]:
            buffered[0] += s.recv(65536)
        head, _, buffered[0] = buffered[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert b"text/event-stream" in head.lower() and b"content-security-policy" in head.lower()
        first = events(s, buffered)
        assert [a["state"] for a in first["apps"]] == ["stopped"]
        # A change made with the rp command arrives as the next event.
        code, out, err = rpc("start", project.app)
        assert code == 0, out + err
        while True:
            status = events(s, buffered)
            if status["apps"][0]["state"] == "running" and status["apps"][0]["processes"][0]["pid"]:
                break


@pytest.fixture
def chatty(project, rp_home, rp_env, rpc):
    """A linked, running app that prints on demand (chatty.py), and rp's HTTP port."""
    project.write("Procfile", f"web: exec {PY} {APPS / 'chatty.py'}\n")
    code, out, err = rpc("link")
    assert code == 0, out + err
    code, out, err = rpc("start", project.app)
    assert code == 0, out + err
    yield int(rp_env["RP_HTTP_PORT"])
    stop_daemon(rp_home)
    kill_pids(set(pids_with_env("RP_HOME", str(rp_home))) |
              set(pids_with_env("RP_APP", project.app)))


def open_stream(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: rp.test:{port}\r\n\r\n".encode())
    return s


def test_a_log_stream_that_is_not_read_is_bounded_and_told(chatty, project, rp_home):
    daemon = daemon_pid(rp_home)
    stuck = open_stream(chatty, f"/v1/logs?app={project.app}&n=0&follow=1")
    time.sleep(0.5)
    before = rss_kib(daemon)
    # About 20 MB of output while the stream is not read.
    conn = http.client.HTTPConnection("127.0.0.1", chatty, timeout=120)
    conn.request("GET", "/burst/200000", headers={"Host": f"{project.app}.test:{chatty}"})
    answer = conn.getresponse()
    assert answer.status == 200 and answer.read()
    conn.close()
    # The daemon stays responsive meanwhile, and its memory bounded (the stream drops lines past
    # a few MiB instead of queueing them all).
    status, _, _ = request(chatty, "GET", "/v1/status")
    assert status == 200
    grown = rss_kib(daemon) - before
    assert grown < 64 * 1024, f"the daemon grew by {grown} KiB for one unread stream"
    # Reading now: what was dropped is said in the stream.
    stuck.settimeout(5)
    data = b""
    while b"lines dropped" not in data:
        chunk = stuck.recv(1 << 20)
        assert chunk, "the stream ended without saying lines were dropped"
        data += chunk
    stuck.close()
    assert daemon_pid(rp_home) == daemon


def test_hundreds_of_open_dashboards_leave_the_daemon_responsive(chatty, project, rp_home, rpc):
    daemon = daemon_pid(rp_home)
    streams = [open_stream(chatty, "/v1/events") for _ in range(200)]
    streams += [open_stream(chatty, f"/v1/logs?app={project.app}&n=100&follow=1")
                for _ in range(100)]
    try:
        # None of them is read. The rp command and the page's own requests still get answers.
        code, out, err = rpc("ls")
        assert code == 0 and project.app in out, out + err
        token = token_of(chatty)
        status, _, body = change(chatty, f"/v1/apps/{project.app}/restart",
                                 origin=f"http://rp.test:{chatty}", token=token)
        assert status == 200, body
        conn = http.client.HTTPConnection("127.0.0.1", chatty, timeout=60)
        conn.request("GET", "/burst/2000", headers={"Host": f"{project.app}.test:{chatty}"})
        answer = conn.getresponse()
        assert answer.status == 200 and answer.read()
        conn.close()
        code, out, err = rpc("ls")
        assert code == 0, err
    finally:
        for s in streams:
            s.close()
    assert daemon_pid(rp_home) == daemon
