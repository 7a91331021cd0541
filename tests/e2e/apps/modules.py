"""The app of the browser tests over HTTP/2 (Python's standard library only; it speaks HTTP/1.1,
as rp forwards every h2 stream to it as an HTTP/1.1 exchange). Listens on 127.0.0.1:$PORT.

  /            a page whose module script imports /m/1.js .. /m/N.js (N = $MODULES, 300 unless
               set) side by side, so a browser fetches them at once; each counts itself into
               globalThis.ran, and the page writes the count into <div id=done> when all ran.
  /m/<i>.js    module i.
  /ws-page     a page that opens a WebSocket to /ws on its own origin, sends one message and
               writes the echo into <div id=echo>, then closes the socket and writes the close
               code into <div id=closed>.
  /ws          a WebSocket echo (a minimal RFC 6455 server: text and binary echoed, pings
               answered, a close returned).

Nothing is cached (Cache-Control: no-store), so every load fetches everything again."""

import base64
import hashlib
import os
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODULES = int(os.environ.get("MODULES", "300"))
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def index_page():
    imports = "\n".join(f'import "/m/{i}.js";' for i in range(1, MODULES + 1))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{MODULES} modules</title>
<script>performance.setResourceTimingBufferSize({MODULES} + 50);</script></head>
<body>
<div id="done"></div>
<script type="module">
{imports}
document.getElementById("done").textContent = String(globalThis.ran);
</script>
</body></html>
"""


WS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ws</title></head>
<body>
<div id="echo"></div><div id="closed"></div><div id="error"></div>
<script>
const ws = new WebSocket("wss://" + location.host + "/ws");
ws.onopen = () => ws.send("hello over h2");
ws.onmessage = (e) => {
  document.getElementById("echo").textContent = e.data;
  ws.close(1000, "done");
};
ws.onerror = () => { document.getElementById("error").textContent = "error"; };
ws.onclose = (e) => { document.getElementById("closed").textContent = String(e.code); };
</script>
</body></html>
"""


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed mid-frame")
        data += chunk
    return data


def read_frame(sock):
    """(fin, opcode, payload) of the next frame from the client (whose frames are masked)."""
    b0, b1 = recv_exact(sock, 2)
    length = b1 & 0x7F
    if length == 126:
        length = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", recv_exact(sock, 8))[0]
    mask = recv_exact(sock, 4) if b1 & 0x80 else b"\0\0\0\0"
    payload = bytearray(recv_exact(sock, length))
    for i in range(len(payload)):
        payload[i] ^= mask[i % 4]
    return bool(b0 & 0x80), b0 & 0x0F, bytes(payload)


def send_frame(sock, opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    sock.sendall(head + payload)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass  # rp's access lines are what the tests read

    def send_body(self, body, content_type):
        body = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/":
            self.send_body(index_page(), "text/html; charset=utf-8")
        elif path.startswith("/m/") and path.endswith(".js"):
            i = int(path[3:-3])
            self.send_body(f"// module {i}\nglobalThis.ran = (globalThis.ran || 0) + 1;\n",
                           "text/javascript")
        elif path == "/ws-page":
            self.send_body(WS_PAGE, "text/html; charset=utf-8")
        elif path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self.websocket()
        else:
            self.send_error(404)

    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"].encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        sock = self.connection
        try:
            while True:
                fin, opcode, payload = read_frame(sock)
                if opcode == 0x8:  # close: answered with the same code, then the end
                    send_frame(sock, 0x8, payload[:2])
                    return
                if opcode == 0x9:  # ping
                    send_frame(sock, 0xA, payload)
                elif opcode in (0x0, 0x1, 0x2):
                    send_frame(sock, opcode, payload, fin)
        except (ConnectionError, OSError):
            return


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    server = Server(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"modules app listening on port {os.environ['PORT']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
