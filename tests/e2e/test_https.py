"""HTTPS on rp's HTTPS port, with real clients trusting only rp's CA: certificates per app minted
for the SNI name (name-constrained CA, SANs, lifetime), a foreign name refused, the loopback
certificate for a handshake without a name; the HTTP features over TLS (keep-alive, streaming,
WebSocket, error pages, on-demand start, forwarded proto, access lines marked https);
`https: redirect`; bad handshakes (garbage, plain HTTP, a stall) that never disturb other
connections; TLS 1.2/1.3 only, resumption, ALPN."""

import asyncio
import datetime
import http.client
import json
import pathlib
import signal
import socket
import ssl
import subprocess
import time

import pytest
import websockets

from conftest import APPS, check_events_arrive_one_by_one, recv_until, run_rp, stop_daemon

ORIGIN = "web: exec $PY $APPS/origin.py\n"


class Https:
    """Requests over TLS to rp's HTTPS port, trusting rp's CA and nothing else."""

    def __init__(self, proxied, rp_env):
        self.proxied = proxied
        self.port = int(rp_env["RP_HTTPS_PORT"])
        self.home = pathlib.Path(rp_env["RP_HOME"])
        self.ca = self.home / "ca" / "rp-ca.pem"

    def context(self, alpn=None):
        ctx = ssl.create_default_context(cafile=str(self.ca))  # with cafile: no system CAs
        if alpn:
            ctx.set_alpn_protocols(alpn)
        return ctx

    def connect(self, name, ctx=None, session=None):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            return (ctx or self.context()).wrap_socket(raw, server_hostname=name, session=session)
        except Exception:
            raw.close()
            raise

    def request(self, name, path="/", method="GET", headers=None, body=None):
        """(status, headers lower-cased, body) over a fresh HTTPS connection to `name`."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=15,
                                           context=self.context())
        conn.sock = self.connect(name)
        try:
            conn.request(method, path, body=body, headers={"Host": name, **(headers or {})})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()


@pytest.fixture
def https(proxied, rp_env):
    return Https(proxied, rp_env)


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=30)


def test_an_app_is_served_over_https_with_a_certificate_for_its_names(proxied, https):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    status, _, body = https.request(name, "/h")
    assert status == 200
    headers = {k.lower(): v for k, v in json.loads(body)["headers"]}
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == str(https.port)
    assert headers["host"] == name
    # Processes and wildcard subdomains share the app's certificate.
    for other in (f"web.{name}", f"anything.{name}"):
        with https.connect(other) as s:
            assert s.version() in ("TLSv1.3", "TLSv1.2")
    # The leaf: the app's names, P-256, at most 397 days, signed by rp's CA; kept on disk.
    with https.connect(name) as s:
        der = s.getpeercert(binary_form=True)
        cert = s.getpeercert()
    sans = sorted(v for k, v in cert["subjectAltName"] if k == "DNS")
    assert sans == sorted([name, f"*.{name}"])
    not_after = datetime.datetime.strptime(cert["notAfter"], "%b %d %H:%M:%S %Y %Z")
    assert not_after - datetime.datetime.utcnow() <= datetime.timedelta(days=397)
    text = openssl("x509", "-inform", "DER", "-noout", "-text", input=der).stdout.decode()
    assert "prime256v1" in text or "P-256" in text
    assert (https.home / "ca" / "certs" / f"{name}.pem").exists()
    # The access line says the request came over HTTPS.
    p.run.wait_for(r"^http\s+\| GET /h 200 .* web\.1 https$")


def test_the_ca_is_name_constrained_to_rps_names(proxied, https):
    proxied(ORIGIN)
    text = openssl("x509", "-in", str(https.ca), "-noout", "-text").stdout.decode()
    assert "CA:TRUE, pathlen:0" in text
    assert "X509v3 Name Constraints: critical" in text
    for permitted in ("DNS:test", "DNS:localhost", "IP:127.0.0.0/255.0.0.0"):
        assert permitted in text, text
    assert "prime256v1" in text
    assert oct((https.home / "ca" / "rp-ca.key").stat().st_mode & 0o777) == "0o600"


def test_a_foreign_name_is_refused_and_nothing_is_minted(proxied, https):
    proxied(ORIGIN)
    with pytest.raises(ssl.SSLError) as caught:
        https.connect("example.com")
    assert "UNRECOGNIZED_NAME" in str(caught.value).upper()
    assert not list((https.home / "ca" / "certs").glob("example.com*"))
    # curl says the same, and rp serves on.
    r = subprocess.run(["curl", "-sS", "--cacert", str(https.ca), "--resolve",
                        f"bank.com:{https.port}:127.0.0.1", f"https://bank.com:{https.port}/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "unrecognized name" in r.stderr.lower(), r.stderr


def test_a_handshake_without_a_name_gets_the_loopback_certificate(proxied, https):
    proxied(ORIGIN)
    # Python sends no SNI for an address; the certificate must still verify for 127.0.0.1.
    status = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(https.ca),
         f"https://127.0.0.1:{https.port}/"], capture_output=True, text=True, timeout=30)
    assert status.stdout == "404", status.stderr  # no app is named 127.0.0.1: rp's own page
    with https.connect("127.0.0.1") as s:
        cert = s.getpeercert()
    names = {v for _, v in cert["subjectAltName"]}
    assert {"localhost", "127.0.0.1", "0:0:0:0:0:0:0:1"} <= names


def test_keep_alive_streaming_and_large_bodies_over_tls(proxied, https):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    conn = http.client.HTTPSConnection("127.0.0.1", https.port, timeout=15)
    conn.sock = https.connect(name)
    try:
        for i in range(5):
            conn.request("POST", f"/echo?i={i}", body=b"x" * 200_000, headers={"Host": name})
            r = conn.getresponse()
            doc = json.loads(r.read())
            assert r.status == 200 and doc["body_length"] == 200_000
        conn.request("GET", f"/big?n={3 << 20}", headers={"Host": name})
        r = conn.getresponse()
        assert r.status == 200 and len(r.read()) == 3 << 20
    finally:
        conn.close()
    # Server-Sent Events arrive one by one.
    with https.connect(name) as s:
        check_events_arrive_one_by_one(s, name, p.project)


def test_a_body_framed_by_the_end_of_the_connection_ends_with_close_notify(proxied, https):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    # HTTP/1.0 gets the app's until-close body as it is; the client must see a clean TLS end,
    # not a truncation (Python raises SSLEOFError on one).
    with https.connect(name) as s:
        s.sendall(f"GET /until-close HTTP/1.0\r\nHost: {name}\r\n\r\n".encode())
        data = recv_until(s)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"body without a length")


def test_websocket_over_wss(proxied, https):
    p = proxied("web: exec $PY $APPS/ws_echo.py\n")
    name = f"{p.project.app}.test"

    async def talk():
        async with websockets.connect(f"wss://{name}:{https.port}/socket", host="127.0.0.1",
                                      port=https.port, ssl=https.context(),
                                      open_timeout=10) as ws:
            replies = []
            for message in ["hello", "x" * 100_000, "bye"]:
                await ws.send(message)
                replies.append(await asyncio.wait_for(ws.recv(), 10))
            return replies

    assert asyncio.run(talk()) == ["hello", "x" * 100_000, "bye"]


def test_error_pages_over_https(proxied, https):
    p = proxied(ORIGIN)
    status, _, body = https.request("nosuch.test")
    assert status == 404
    assert f"https://{p.project.app}.test:{https.port}/".encode() in body


def test_a_linked_app_starts_on_its_first_https_request(project, rp_env, rpc, https):
    """On-demand start over TLS, and the 502 page with the log tail of one that fails."""
    name = f"{project.app}.test"
    project.write("Procfile", f"web: exec /usr/bin/python3 {APPS / 'od_app.py'}\n")
    code, out, err = rpc("link")
    assert code == 0, (out, err)
    status, _, body = https.request(name, "/")
    assert status == 200, body
    other = project.path.parent / "broken-app"
    other.mkdir()
    (other / "Procfile").write_text(f"web: exec /usr/bin/python3 {APPS / 'od_fail.py'}\n")
    code, out, err = rpc("link", cwd=other)
    assert code == 0, (out, err)
    status, _, body = https.request("broken-app.test", "/", headers={"Accept": "text/plain"})
    assert status == 502
    assert b"no database named od_missing" in body


def test_https_redirect(proxied, https):
    p = proxied(ORIGIN, rp_yaml="https: redirect\n")
    name = f"{p.project.app}.test"
    status, headers, _ = p.request("POST", "/form?a=1&b=2")
    assert status == 308
    assert headers["location"] == f"https://{name}:{https.port}/form?a=1&b=2"
    status, _, body = https.request(name, "/form?a=1&b=2")
    assert status == 200 and json.loads(body)["path"] == "/form?a=1&b=2"


def test_plain_http_to_the_https_port_is_told_to_use_https(proxied, https):
    proxied(ORIGIN)
    with socket.create_connection(("127.0.0.1", https.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x.test\r\n\r\n")
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 400") and b"https://" in data


def wait_for_end(s):
    """Reads until the connection ends (closed, or reset: rp closes with the client's bytes
    unread); a timeout fails the test."""
    try:
        recv_until(s)
    except ConnectionResetError:
        pass


def test_garbage_and_stalled_handshakes_end_and_never_disturb_others(proxied, https):
    p = proxied(ORIGIN, config="header_timeout: 2s\n")
    name = f"{p.project.app}.test"
    garbage = socket.create_connection(("127.0.0.1", https.port), timeout=10)
    garbage.sendall(b"\x16\x03\x01\x00\x10" + b"\xff" * 16)
    stalled = socket.create_connection(("127.0.0.1", https.port), timeout=10)
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, then nothing
    silent = socket.create_connection(("127.0.0.1", https.port), timeout=10)
    try:
        # Meanwhile, others are served at once.
        for _ in range(3):
            assert https.request(name, "/h")[0] == 200
        wait_for_end(garbage)
        started = time.monotonic()
        for s in (stalled, silent):
            wait_for_end(s)
        assert time.monotonic() - started < 8  # ended by header_timeout (2 s), not by the test
    finally:
        for s in (garbage, stalled, silent):
            s.close()


def test_tls_versions_resumption_and_alpn(proxied, https):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    # TLS 1.1 is refused, 1.2 and 1.3 are spoken.
    old = openssl("s_client", "-connect", f"127.0.0.1:{https.port}", "-servername", name,
                  "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", input=b"")
    assert old.returncode != 0 and b"alert protocol version" in old.stderr, old.stderr
    for version, flag in (("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")):
        r = openssl("s_client", "-connect", f"127.0.0.1:{https.port}", "-servername", name,
                    flag, "-CAfile", str(https.ca), input=b"")
        assert f"New, {version}, Cipher is".encode() in r.stdout, r.stdout
        assert b"Verify return code: 0 (ok)" in r.stdout
    # Resumption: a second connection resumes the first one's session (a TLS 1.3 ticket; a
    # TLS 1.2 ticket), and is served, with the certificate of its name.
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = https.context()
        ctx.maximum_version = version
        with https.connect(name, ctx) as first:
            first.sendall(f"GET /h HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
            first.recv(65536)  # a TLS 1.3 ticket comes after the handshake
            session = first.session
        with https.connect(name, ctx, session=session) as second:
            assert second.session_reused, version
            assert second.version() == version.name.replace("_", "."), version
            second.sendall(f"GET /h HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
                           .encode())
            assert second.recv(65536).startswith(b"HTTP/1.1 200"), version
    # ALPN: h2 is preferred, http/1.1 spoken to those who offer only it; a client offering
    # neither goes on without ALPN (HTTP/1.1).
    with https.connect(name, https.context(["h2", "http/1.1"])) as s:
        assert s.selected_alpn_protocol() == "h2"
    with https.connect(name, https.context(["http/1.1"])) as s:
        assert s.selected_alpn_protocol() == "http/1.1"
    with https.connect(name, https.context(["spdy/3"])) as s:
        assert s.selected_alpn_protocol() is None


def test_renegotiation_is_refused_and_rp_serves_on(proxied, https):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    client = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{https.port}", "-servername", name,
         "-tls1_2", "-CAfile", str(https.ca)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client.stdin.write(b"R\n")  # s_client's command to renegotiate
        client.stdin.flush()
        time.sleep(1)  # for rp's answer to arrive before stdin's end ends s_client
        out, err = client.communicate(timeout=30)
    finally:
        client.kill()
        client.wait()
    assert b"RENEGOTIATING" in out + err
    assert b"no renegotiation" in err, out + err
    assert https.request(name, "/h")[0] == 200


def test_doctor_checks_https_end_to_end_and_the_ca(proxied, https, rp_env, project):
    proxied(ORIGIN)
    # Trusted as any program here would trust it (OpenSSL reads SSL_CERT_FILE): a pass.
    env = dict(rp_env, SSL_CERT_FILE=str(https.ca))
    code, out, err = run_rp(["doctor"], project.path, env)
    assert f"PASS  HTTPS: 127.0.0.1:{https.port} serves rp.test with a certificate this system " \
           "trusts" in out, out
    assert "PASS  local CA: " in out
    # Not trusted yet: the fix is rp trust.
    empty = project.path / "no-cas.pem"
    empty.write_text("")
    code, out, err = run_rp(["doctor"], project.path, dict(rp_env, SSL_CERT_FILE=str(empty)))
    assert "does not trust rp's CA yet" in out and "fix: sudo rp trust --apply" in out, out
    # A CA key others may read is named, with the fix.
    (https.home / "ca" / "rp-ca.key").chmod(0o644)
    code, out, err = run_rp(["doctor"], project.path, env)
    assert code == 1
    assert "FAIL  local CA: " in out and "may be read by others (mode 0644)" in out, out
    assert "fix: chmod 600 " in out


def test_a_damaged_ca_turns_https_off_with_a_clear_message_and_http_serves_on(proxied, https):
    ca_dir = https.home / "ca"
    ca_dir.mkdir()
    (ca_dir / "rp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
    (ca_dir / "rp-ca.key").write_text("")
    p = proxied(ORIGIN)
    assert p.request("GET", "/h")[0] == 200
    log = (https.home / "logs" / "daemon.log").read_text()
    assert f"HTTPS: off: {ca_dir}/rp-ca.*: rp's CA is incomplete or damaged" in log, log
    # Left as it was: a CA browsers may trust is the user's to replace.
    assert (ca_dir / "rp-ca.pem").read_text().endswith("not a certificate\n")
    with pytest.raises(OSError):
        https.connect(f"{p.project.app}.test")


def test_a_damaged_leaf_on_disk_is_made_anew(proxied, https):
    p = proxied(ORIGIN)
    name = f"{p.project.app}.test"
    assert https.request(name, "/h")[0] == 200
    leaf = https.home / "ca" / "certs" / f"{name}.pem"
    leaf.write_text("garbage")
    # The daemon keeps leaves in memory: a new daemon reads the damaged file, and makes a new one.
    p.run.signal(signal.SIGINT)
    p.run.wait()
    stop_daemon(https.home)
    p = proxied(ORIGIN)
    assert https.request(name, "/h")[0] == 200
    assert leaf.read_text().startswith("-----BEGIN CERTIFICATE-----")
