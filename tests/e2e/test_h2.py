"""HTTP/2 on rp's HTTPS port, spoken by real clients (curl --http2, the Python `h2` library,
h2load) and forwarded to HTTP/1.1 apps: Host from :authority, cookie crumbs joined, many streams
on one connection, bodies both ways under flow control with the daemon's memory flat, SSE event
by event, WebSocket over an extended CONNECT (RFC 8441), rp's own pages, on-demand start,
access lines marked h2. And the bad input: malformed requests refused with nothing reaching the
app, oversized header lists answered 431, floods (PING, SETTINGS, rapid reset, CONTINUATION) and
a window kept shut ending that connection only, never another's service."""

import hashlib
import json
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
import hyperframe.frame as frames
import pytest

from conftest import APPS, daemon_pid, rss_kib

ORIGIN = "web: exec $PY $APPS/origin.py\n"


def h2_socket(rp_env, name, timeout=15):
    """A TLS connection to rp's HTTPS port for `name` (SNI), offering only h2 and trusting only
    rp's CA."""
    home = pathlib.Path(rp_env["RP_HOME"])
    ctx = ssl.create_default_context(cafile=str(home / "ca" / "rp-ca.pem"))
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", int(rp_env["RP_HTTPS_PORT"])), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=name)
    except Exception:
        raw.close()
        raise


class H2:
    """One HTTP/2 connection to rp's HTTPS port for `name`, trusting only rp's CA."""

    def __init__(self, rp_env, name, settings=None, validate=True):
        self.sock = h2_socket(rp_env, name)
        assert self.sock.selected_alpn_protocol() == "h2"
        self.name = name
        config = h2.config.H2Configuration(client_side=True, validate_outbound_headers=validate,
                                           normalize_outbound_headers=validate)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.streams = {}  # id -> {"status", "headers", "body", "ended", "reset"}
        self.remote_settings = {}
        self.goaway = None  # the error code of a GOAWAY received
        self.closed = False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, path, method="GET", headers=(), body=None, end=True, fields=None):
        """Opens a stream: `fields` replaces the pseudo-headers and `headers` when given."""
        sid = self.conn.get_next_available_stream_id()
        fields = fields or [(":method", method), (":scheme", "https"), (":authority", self.name),
                            (":path", path), *headers]
        self.conn.send_headers(sid, fields, end_stream=end and body is None)
        self.streams[sid] = {"status": None, "headers": [], "body": b"", "ended": False,
                             "reset": None}
        if body is not None:
            self.send_body(sid, body, end=end)
        self.flush()
        return sid

    def send_body(self, sid, body, end=True):
        """Sends `body` as the window allows, reading what comes meanwhile."""
        view = memoryview(body)
        while view:
            room = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if room <= 0:
                self.read_once()
                continue
            self.conn.send_data(sid, view[:room].tobytes())
            view = view[room:]
            self.flush()
        if end:
            self.conn.end_stream(sid)
            self.flush()

    def read_once(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return
        for event in self.conn.receive_data(data):
            s = self.streams.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.ResponseReceived):
                s["headers"] = [(k.decode(), v.decode()) for k, v in event.headers]
                s["status"] = int(dict(s["headers"])[":status"])
            elif isinstance(event, h2.events.DataReceived):
                s["body"] += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                s["ended"] = True
            elif isinstance(event, h2.events.StreamReset):
                if s is not None:
                    s["reset"] = event.error_code
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                for code, setting in event.changed_settings.items():
                    self.remote_settings[code] = setting.new_value
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event.error_code
        self.flush()

    def wait(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out waiting on the h2 connection"
            assert not self.closed, "rp closed the connection"
            self.read_once()

    def wait_closed(self, timeout=20):
        deadline = time.monotonic() + timeout
        self.sock.settimeout(timeout)
        while not self.closed and time.monotonic() < deadline:
            try:
                self.read_once()
            except h2.exceptions.ProtocolError:
                self.closed = True  # rp said GOAWAY and went on: nothing more to parse
            except socket.timeout:
                break
        return self.closed

    def response(self, sid, timeout=20):
        s = self.streams[sid]
        self.wait(lambda: s["ended"] or s["reset"] is not None, timeout)
        return s

    def get(self, path, **kw):
        s = self.response(self.request(path, **kw))
        return s["status"], dict(s["headers"]), s["body"]


def curl_h2(rp_env, name, path, *args, stdin=None):
    """(HTTP version, status, body, bytes downloaded) of a request with curl --http2."""
    port = rp_env["RP_HTTPS_PORT"]
    r = subprocess.run(
        ["curl", "-sS", "--http2", "--cacert", f"{rp_env['RP_HOME']}/ca/rp-ca.pem",
         "--resolve", f"{name}:{port}:127.0.0.1",
         "-w", "\n%{http_version} %{http_code} %{size_download}", *args,
         f"https://{name}:{port}{path}"],
        stdin=stdin, capture_output=True, timeout=180)
    body, _, tail = r.stdout.rpartition(b"\n")
    version, code, size = tail.decode().split()
    return version, int(code), body, int(size)


def origin_requests(p):
    log = p.project.path / "origin.log"
    return log.read_text().splitlines() if log.exists() else []


def app_headers(body):
    return {k.lower(): v for k, v in json.loads(body)["headers"]}


def test_a_request_over_h2_reaches_the_app_as_http11(proxied, rp_env):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    version, code, body, _ = curl_h2(rp_env, name, "/h?x=1")
    assert (version, code) == ("2", 200)
    seen = json.loads(body)
    assert seen["version"] == "HTTP/1.1" and seen["path"] == "/h?x=1"
    headers = app_headers(body)
    assert headers["host"] == f"{name}:{rp_env['RP_HTTPS_PORT']}"  # from :authority
    assert headers["x-forwarded-proto"] == "https"
    assert headers["via"].startswith("2.0 rp-")
    p.run.wait_for(r"GET /h\?x=1 200 .* web\.1 h2")

    with H2(rp_env, name) as c:
        status, got, body = c.get("/crumbs", headers=[("cookie", "a=1"), ("cookie", "b=2"),
                                                      ("x-many", "1")])
        assert status == 200
        headers = app_headers(body)
        assert headers["cookie"] == "a=1; b=2"
        assert headers["host"] == name
        assert "connection" not in got and "transfer-encoding" not in got
        # One after the other, bodies or not, the streams reuse one kept-alive connection to
        # the app (the app sees one client port).
        ports = set()
        for i in range(6):
            body = b"x" * 1000 if i % 2 else None
            status, _, seen = c.get(f"/reuse/{i}", method="POST" if body else "GET", body=body)
            assert status == 200
            ports.add(json.loads(seen)["client_port"])
        assert len(ports) == 1, ports
        # rp announces extended CONNECT and its stream limit.
        assert c.remote_settings[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL] == 1
        assert c.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] == 128


def test_a_hundred_concurrent_streams_on_one_connection(proxied, rp_env):
    p = proxied(ORIGIN, env={"ORIGIN_QUIET": "1"})
    with H2(rp_env, f"{p.project.app}.test") as c:
        ids = {c.request(f"/n/{i}"): i for i in range(100)}
        c.wait(lambda: all(c.streams[s]["ended"] for s in ids), timeout=60)
        for sid, i in ids.items():
            s = c.streams[sid]
            assert s["status"] == 200
            assert json.loads(s["body"])["path"] == f"/n/{i}"
    # h2load agrees: 100 streams at once on one connection, all answered.
    r = subprocess.run(["h2load", "-n", "1000", "-c", "1", "-m", "100", "-H",
                        f":authority: {p.project.app}.test",
                        f"https://127.0.0.1:{rp_env['RP_HTTPS_PORT']}/h"],
                       capture_output=True, text=True, timeout=120)
    assert "1000 succeeded" in r.stdout, r.stdout


def test_busy_connections_that_end_leave_nothing_behind(proxied, rp_env, rp_home):
    # A connection keeps, for its next streams, a coroutine, a stream and scratch for as many
    # streams as it had at once. All of it goes when the connection does, even when its last
    # streams ended just before it: a connection counts against max_connections until then, so
    # that rounds of busy connections, more in all than the limit, are each served in full.
    (rp_home / "config.yaml").write_text("max_connections: 50\n")
    p = proxied(ORIGIN, env={"ORIGIN_QUIET": "1"})
    for _ in range(3):  # kept, the first two rounds' connections would leave 10 for the third
        # (10 streams each: the 200 at once stay within what the app's listen queue holds.)
        r = subprocess.run(["h2load", "-n", "1000", "-c", "20", "-m", "10", "-H",
                            f":authority: {p.project.app}.test",
                            f"https://127.0.0.1:{rp_env['RP_HTTPS_PORT']}/h"],
                           capture_output=True, text=True, timeout=120)
        assert "1000 succeeded" in r.stdout, r.stdout


def daemon_rss_kib(home):
    return rss_kib(daemon_pid(pathlib.Path(home)))


class PeakRss:
    """The daemon's highest RSS while the block runs."""

    def __init__(self, home):
        self.home = home
        self.peak = 0
        self.done = threading.Event()

    def __enter__(self):
        self.start = daemon_rss_kib(self.home)

        def sample():
            while not self.done.wait(0.05):
                self.peak = max(self.peak, daemon_rss_kib(self.home))

        self.thread = threading.Thread(target=sample)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def test_large_bodies_both_ways_keep_the_daemons_memory_flat(proxied, rp_env):
    p = proxied(ORIGIN, env={"ORIGIN_QUIET": "1"})
    name = f"{p.project.app}.test"
    size = 1 << 30
    with PeakRss(rp_env["RP_HOME"]) as rss:
        assert curl_h2(rp_env, name, f"/big?n={size}", "-o", "/dev/null")[3] == size
        # A slow reader: rp must hold back the app rather than buffer what the client lags.
        slow = curl_h2(rp_env, name, f"/big?n={48 << 20}", "-o", "/dev/null",
                       "--limit-rate", "24M")
        assert slow[:2] == ("2", 200) and slow[3] == 48 << 20
        # An upload from a pipe: no length, so the app gets it chunked.
        feeder = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
        try:
            version, code, body, _ = curl_h2(rp_env, name, "/up", "-T", "-", "-X", "POST",
                                             stdin=feeder.stdout)
        finally:
            feeder.kill()
            feeder.wait()
    assert (version, code) == ("2", 200)
    seen = json.loads(body)
    assert seen["body_length"] == size
    zeros = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        zeros.update(block)
    assert seen["body_sha256"] == zeros.hexdigest()
    grown = rss.peak - rss.start
    assert grown < 48 * 1024, f"the daemon grew by {grown} KiB moving 2 GiB"


def test_load_is_balanced_across_instances_over_h2(proxied, rp_env):
    p = proxied(ORIGIN, rp_yaml="formation:\n  web: 2\n", ready=None)
    p.run.wait_for("listening", count=2)
    with H2(rp_env, f"{p.project.app}.test") as c:
        ids = [c.request(f"/lb/{i}") for i in range(20)]
        c.wait(lambda: all(c.streams[s]["ended"] for s in ids))
        served_by = {json.loads(c.streams[s]["body"])["process"] for s in ids}
    assert served_by == {"web.1", "web.2"}


def test_sse_arrives_event_by_event_over_h2(proxied, rp_env):
    p = proxied(ORIGIN)
    with H2(rp_env, f"{p.project.app}.test") as c:
        sid = c.request("/sse")
        c.wait(lambda: b"data: one" in c.streams[sid]["body"])
        assert not c.streams[sid]["ended"]
        (p.project.path / "next").touch()
        s = c.response(sid)
        assert s["status"] == 200 and s["body"] == b"data: one\n\ndata: two\n\n"


def ws_frame(payload, opcode=0x1):
    """A client's WebSocket frame (masked, as RFC 6455 wants from clients)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_parse(data):
    """(opcode, payload, rest) of the server's first frame in `data`, or None if incomplete."""
    if len(data) < 2:
        return None
    n, at = data[1] & 0x7F, 2
    if n == 126:
        n, at = int.from_bytes(data[2:4], "big"), 4
    elif n == 127:
        n, at = int.from_bytes(data[2:10], "big"), 10
    if len(data) < at + n:
        return None
    return data[0] & 0x0F, data[at:at + n], data[at + n:]


def test_websocket_over_h2_extended_connect(proxied, rp_env):
    p = proxied("web: exec $PY $APPS/ws_echo.py\n")
    with H2(rp_env, f"{p.project.app}.test") as c:
        code = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
        c.wait(lambda: c.remote_settings.get(code) == 1)
        sid = c.request("/socket", method="CONNECT", end=False, fields=[
            (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"),
            (":authority", c.name), (":path", "/socket"), ("sec-websocket-version", "13")])
        c.wait(lambda: c.streams[sid]["status"] is not None)
        s = c.streams[sid]
        assert s["status"] == 200, s
        assert "sec-websocket-accept" not in dict(s["headers"])
        for message in [b"hello", b"x" * 100_000, b"bye"]:
            c.send_body(sid, ws_frame(message), end=False)
            c.wait(lambda: ws_parse(s["body"]) is not None)
            opcode, payload, s["body"] = ws_parse(s["body"])
            assert (opcode, payload) == (0x1, message)
        # A close handshake, then the end of the stream both ways.
        c.conn.send_data(sid, ws_frame(b"\x03\xe8", opcode=0x8), end_stream=True)
        c.flush()
        c.response(sid)
        assert ws_parse(s["body"])[0] == 0x8
    p.run.wait_for(r"CONNECT /socket 200 .* web\.1 h2")


def test_rps_own_pages_over_h2(proxied, rp_env):
    p = proxied(ORIGIN)
    with H2(rp_env, "nosuch.test", validate=False) as c:
        status, headers, body = c.get("/", headers=[("accept", "text/html")])
        assert status == 404 and headers["content-type"].startswith("text/html")
        assert f"https://{p.project.app}.test:{rp_env['RP_HTTPS_PORT']}/".encode() in body
        # rp is not a forward proxy; a HEAD gets the head alone.
        status, _, _ = c.get("/", fields=[(":method", "CONNECT"), (":authority", "x.test:443")])
        assert status == 405
        status, headers, body = c.get("/", method="HEAD")
        assert status == 404 and body == b"" and int(headers["content-length"]) > 0


def test_a_linked_app_starts_on_its_first_h2_request(project, rp_env, rpc):
    project.write("Procfile", f"web: exec /usr/bin/python3 {APPS / 'od_app.py'}\n")
    code, out, err = rpc("link")
    assert code == 0, (out, err)
    with H2(rp_env, f"{project.app}.test") as c:
        ids = [c.request("/") for _ in range(5)]  # all wait for the one boot
        for sid in ids:
            assert c.response(sid)["status"] == 200
    other = project.path.parent / "broken-app"
    other.mkdir()
    (other / "Procfile").write_text(f"web: exec /usr/bin/python3 {APPS / 'od_fail.py'}\n")
    code, out, err = rpc("link", cwd=other)
    assert code == 0, (out, err)
    with H2(rp_env, "broken-app.test") as c:
        status, _, body = c.get("/", headers=[("accept", "text/plain")])
    assert status == 502 and b"no database named od_missing" in body


def test_malformed_requests_are_refused_and_never_reach_the_app(proxied, rp_env):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    base = [(":method", "GET"), (":scheme", "https"), (":authority", name)]
    with H2(rp_env, name, validate=False) as c:
        refused = {
            "crlf": base + [(":path", "/crlf"), ("x-evil", "a\r\nGET /smuggled HTTP/1.1")],
            "lf": base + [(":path", "/lf"), ("x-evil", "a\nb")],
            "nul": base + [(":path", "/nul"), ("x-evil", "a\x00b")],
            "upper": base + [(":path", "/upper"), ("X-Upper", "1")],
            "connection": base + [(":path", "/conn"), ("connection", "close")],
            "transfer-encoding": base + [(":path", "/te"), ("transfer-encoding", "chunked")],
            "no path": base,
            "status in a request": base + [(":path", "/st"), (":status", "200")],
            "space in path": base + [(":path", "/a b")],
        }
        for what, fields in refused.items():
            s = c.response(c.request(None, fields=fields))
            assert s["reset"] is not None or s["status"] == 400, (what, s)
        # A body longer than its content-length: the stream is reset, the extra bytes (a whole
        # request) never reach the app.
        sid = c.request("/cl", method="POST", headers=[("content-length", "5")], end=False)
        c.conn.send_data(sid, b"12345GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", end_stream=True)
        c.flush()
        assert c.response(sid)["reset"] is not None
        # Headers past 64 KiB: 431, and the connection serves on.
        big = [(f"x-big-{i}", "v" * 1200) for i in range(60)]
        status, _, _ = c.get("/big-headers", headers=big)
        assert status == 431
        status, _, _ = c.get("/fine")
        assert status == 200
    seen = origin_requests(p)
    assert "GET /fine" in seen
    assert not [r for r in seen if "smuggled" in r or r.split()[1] in (
        "/crlf", "/lf", "/nul", "/upper", "/conn", "/te", "/st", "/a", "/big-headers")], seen


class RawH2:
    """A TLS connection with h2 negotiated, for frames no polite client sends."""

    def __init__(self, rp_env, name):
        self.sock = h2_socket(rp_env, name, timeout=20)
        self.name = name
        self.encoder = hpack.Encoder()
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
                          frames.SettingsFrame(0).serialize())

    def headers_block(self, path):
        return self.encoder.encode([(":method", "GET"), (":scheme", "https"),
                                    (":authority", self.name), (":path", path)])

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # rp has had enough already

    def next_frame(self):
        """The next frame rp sends (waiting for it)."""
        buf = getattr(self, "buf", b"")
        while True:
            if len(buf) >= 9:
                frame, length = frames.Frame.parse_frame_header(memoryview(buf[:9]))
                if len(buf) >= 9 + length:
                    frame.parse_body(memoryview(buf[9:9 + length]))
                    self.buf = buf[9 + length:]
                    return frame
            chunk = self.sock.recv(65536)
            assert chunk, "rp closed the connection"
            buf += chunk

    def frames_until_closed(self):
        """Every frame rp sends until it closes the connection."""
        data = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
        out = []
        while len(data) >= 9:
            frame, length = frames.Frame.parse_frame_header(memoryview(data[:9]))
            if len(data) < 9 + length:
                break
            frame.parse_body(memoryview(data[9:9 + length]))
            out.append(frame)
            data = data[9 + length:]
        return out

    def close(self):
        self.sock.close()


def goaway_code(frames_seen):
    codes = [f.error_code for f in frames_seen if isinstance(f, frames.GoAwayFrame)]
    return codes[-1] if codes else None


FLOODS = {
    "ping": lambda r: b"".join(frames.PingFrame(0, opaque_data=b"12345678").serialize()
                               for _ in range(5000)),
    "settings": lambda r: b"".join(frames.SettingsFrame(0).serialize() for _ in range(5000)),
    "rapid reset": lambda r: b"".join(
        frames.HeadersFrame(2 * i + 1, data=r.headers_block("/rr"),
                            flags=["END_HEADERS", "END_STREAM"]).serialize() +
        frames.RstStreamFrame(2 * i + 1, error_code=8).serialize() for i in range(3000)),
    "continuation": lambda r: frames.HeadersFrame(1, data=r.headers_block("/cf")[:3]).serialize() +
    b"".join(frames.ContinuationFrame(1, data=b"").serialize() for _ in range(100)),
    "bad preface": None,
}


@pytest.mark.parametrize("flood", list(FLOODS))
def test_a_flood_ends_that_connection_and_others_are_served(proxied, rp_env, flood):
    p = proxied(ORIGIN, env={"ORIGIN_QUIET": "1"})
    name = f"{p.project.app}.test"
    with H2(rp_env, name) as other:
        assert other.get("/before")[0] == 200
        if flood == "bad preface":
            with h2_socket(rp_env, name, timeout=20) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
                s.settimeout(20)
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
            assert b"HTTP/1.1" not in got  # no answer as if it were a request
        else:
            attacker = RawH2(rp_env, name)
            try:
                attacker.send(FLOODS[flood](attacker))
                seen = attacker.frames_until_closed()
            finally:
                attacker.close()
            assert goaway_code(seen) == 0xB, (flood, seen[-3:])  # ENHANCE_YOUR_CALM
        assert other.get("/after")[0] == 200


def test_streams_past_the_limit_are_refused(proxied, rp_env):
    p = proxied(ORIGIN, env={"ORIGIN_QUIET": "1"})
    r = RawH2(rp_env, f"{p.project.app}.test")
    try:
        # 140 streams that the app never answers: the 129th and later are refused.
        r.send(b"".join(frames.HeadersFrame(2 * i + 1, data=r.headers_block("/hang"),
                                            flags=["END_HEADERS", "END_STREAM"]).serialize()
                        for i in range(140)))
        r.sock.settimeout(3)
        seen = r.frames_until_closed()  # rp keeps the connection: this ends by the timeout
    finally:
        r.close()
    refused = {f.stream_id for f in seen if isinstance(f, frames.RstStreamFrame)}
    assert refused and min(refused) > 2 * 127 + 1, sorted(refused)[:5]


def test_a_window_kept_shut_ends_that_connection_only(proxied, rp_env):
    p = proxied(ORIGIN, config="header_timeout: 1s\n")
    name = f"{p.project.app}.test"
    shut = h2.settings.SettingCodes.INITIAL_WINDOW_SIZE
    with H2(rp_env, name, settings={shut: 0}) as c, H2(rp_env, name) as other:
        sid = c.request("/big?n=100000")
        c.wait(lambda: c.streams[sid]["status"] == 200)
        assert other.get("/meanwhile")[0] == 200
        assert c.wait_closed(timeout=20)
        assert c.goaway == 0xB  # ENHANCE_YOUR_CALM
        assert other.get("/after")[0] == 200


def test_a_stopping_daemon_says_goaway_and_lets_open_streams_finish(proxied, rp_env):
    p = proxied(ORIGIN)
    r = RawH2(rp_env, f"{p.project.app}.test")
    try:
        r.send(frames.HeadersFrame(1, data=r.headers_block("/sse"),
                                   flags=["END_HEADERS", "END_STREAM"]).serialize())
        body = b""
        while b"data: one" not in body:
            f = r.next_frame()
            body += f.data if isinstance(f, frames.DataFrame) else b""
        os.kill(daemon_pid(pathlib.Path(rp_env["RP_HOME"])), signal.SIGTERM)
        while not isinstance(f := r.next_frame(), frames.GoAwayFrame):
            pass
        assert (f.error_code, f.last_stream_id) == (0, 1)  # graceful: stream 1 goes on
        (p.project.path / "next").touch()
        while not (isinstance(f, frames.DataFrame) and "END_STREAM" in f.flags):
            f = r.next_frame()
            body += f.data if isinstance(f, frames.DataFrame) else b""
        assert body == b"data: one\n\ndata: two\n\n"
        assert r.frames_until_closed() is not None  # and then rp closes the connection
    finally:
        r.close()
    p.run.wait_for("web.1 killed by SIGTERM")  # the apps stop after the stream's end
