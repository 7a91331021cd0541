"""Upgrades through the proxy: a WebSocket echo with a real client, and a raw upgraded
connection whose half-close reaches the app and whose answer still comes back."""

import asyncio
import socket

import websockets


def test_websocket_echo(proxied):
    p = proxied("web: exec $PY $APPS/ws_echo.py\n")

    async def talk():
        # The name is rp's to route; the connection goes to rp on loopback.
        uri = f"ws://{p.project.app}.test:{p.port}/socket"
        async with websockets.connect(uri, host="127.0.0.1", port=p.port,
                                      open_timeout=10) as ws:
            replies = []
            for message in ["hello", "x" * 100_000, "bye"]:
                await ws.send(message)
                replies.append(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(b"\x00\x01binary")
            replies.append(await asyncio.wait_for(ws.recv(), 10))
            return replies

    assert asyncio.run(talk()) == ["hello", "x" * 100_000, "bye", b"\x00\x01binary"]


def test_upgrade_tunnel_passes_half_close(proxied):
    p = proxied("web: exec $PY $APPS/upgrade_echo.py\n")
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(f"GET /tunnel HTTP/1.1\r\nHost: {p.project.app}.test\r\nConnection: Upgrade"
                  "\r\nUpgrade: echo\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        assert b"Upgrade: echo" in head
        s.sendall(b"ping")
        assert s.recv(4) == b"ping"
        s.shutdown(socket.SHUT_WR)  # our half-close must reach the app...
        rest = b""
        while chunk := s.recv(65536):
            rest += chunk
        assert rest == b"bye"        # ...which answers after it, through the open other half


def test_quiet_tunnel_is_not_timed_out(proxied, rp_home):
    p = proxied("web: exec $PY $APPS/upgrade_echo.py\n",
                config="header_timeout: 1s\nkeepalive_timeout: 1s\n")
    with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: {p.project.app}.test\r\nConnection: Upgrade\r\n"
                  "Upgrade: echo\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        import time
        time.sleep(2.5)  # longer than every timeout rp has for HTTP connections
        s.sendall(b"still here")
        assert s.recv(64) == b"still here"
