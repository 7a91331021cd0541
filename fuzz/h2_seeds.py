#!/usr/bin/env python3
# Writes fuzz/seeds/h2: real HTTP/2 client byte streams (from the h2 library) in h2_fuzz's input
# format, a mode byte then the client's bytes. Run with Debian's python3, which has python3-h2:
#   /usr/bin/python3 fuzz/h2_seeds.py
# The seeds are committed; this says what each one is, and remakes them if the format changes.
import pathlib

import h2.config
import h2.connection
import h2.settings

# The mode byte (fuzz/h2_fuzz.cpp).
PREFIX = 0x1  # the fuzzer prepends the preface and an empty SETTINGS
KEEP_BODIES = 0x2
EARLY_HINTS = 0x4
GRADUAL = 0x8


def body(index):  # kBodySizes: 11, 0 (no body), 20000, 70000
    return index << 4


def reads(index):  # kReadSizes: 1, 17, 1024, all at once
    return index << 6


GET = [(":method", "GET"), (":scheme", "https"), (":authority", "shop.test"), (":path", "/")]


def client():
    """A client past its opening, and that opening (preface and SETTINGS)."""
    config = h2.config.H2Configuration(
        client_side=True, header_encoding=None, validate_outbound_headers=False,
        normalize_outbound_headers=False)
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    opening = conn.data_to_send()
    # rp's SETTINGS, so that the client may send an extended CONNECT; its ACK is in the stream.
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    server.local_settings = h2.settings.Settings(client=False, initial_values={
        h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
        h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 128})
    server.initiate_connection()
    conn.receive_data(server.data_to_send())
    return conn, opening


def get(conn):
    conn.send_headers(1, GET + [("user-agent", "curl/8.5"), ("accept", "*/*"),
                                ("cookie", "session=abc"), ("cookie", "theme=dark")],
                      end_stream=True)


def post(conn):
    conn.send_headers(1, [(":method", "POST"), (":scheme", "https"),
                          (":authority", "shop.test"), (":path", "/orders?x=1"),
                          ("content-type", "application/x-www-form-urlencoded"),
                          ("content-length", "11")])
    conn.send_data(1, b"hello ")
    conn.send_data(1, b"world", end_stream=True)
    # No length: chunked to the app, and trailers at the end.
    conn.send_headers(3, [(":method", "PUT"), (":scheme", "https"),
                          (":authority", "shop.test"), (":path", "/upload"),
                          ("te", "trailers")])
    conn.send_data(3, b"x" * 300)
    conn.send_headers(3, [("x-checksum", "42")], end_stream=True)


def websocket(conn):
    conn.send_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"),
                          (":scheme", "https"), (":authority", "shop.test"), (":path", "/chat"),
                          ("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat"),
                          ("origin", "https://shop.test")])
    conn.send_data(1, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")  # a masked "Hello"


def refusals(conn):
    conn.send_headers(1, [(":method", "CONNECT"), (":authority", "shop.test:443")])
    conn.send_headers(3, [(":method", "CONNECT"), (":protocol", "connect-udp"),
                          (":scheme", "https"), (":authority", "shop.test"), (":path", "/")])
    conn.send_headers(5, GET + [("host", "admin.test")], end_stream=True)
    conn.send_headers(7, [(":method", "POST"), (":scheme", "https"),
                          (":authority", "shop.test"), (":path", "/"),
                          ("content-length", "5"), ("content-length", "6")])
    conn.send_headers(9, [(":method", "GET"), (":scheme", "https"),
                          (":authority", "user@shop.test"), (":path", "/")], end_stream=True)


def control(conn):
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
                          h2.settings.SettingCodes.HEADER_TABLE_SIZE: 0})
    conn.increment_flow_control_window(1 << 24)
    conn.send_headers(1, GET, end_stream=True)
    conn.increment_flow_control_window(1 << 20, stream_id=1)
    conn.ping(b"rp-fuzz!")
    conn.prioritize(3, weight=200, depends_on=1)
    conn.send_headers(3, [(":method", "POST"), (":scheme", "https"),
                          (":authority", "shop.test"), (":path", "/slow")])
    conn.send_data(3, b"partial")
    conn.reset_stream(3)
    conn.send_headers(5, [(":method", "HEAD")] + GET[1:], end_stream=True)
    conn.close_connection()


def many(conn):
    for i in range(20):
        conn.send_headers(1 + 2 * i, GET[:3] + [(":path", f"/assets/{i}.js"),
                                                ("accept", "*/*"), ("user-agent", "firefox")],
                          end_stream=True)


def seeds():
    for name, mode, write in [
        ("get", PREFIX | reads(3), get),
        ("post", PREFIX | KEEP_BODIES | reads(1), post),
        ("websocket", PREFIX | EARLY_HINTS | GRADUAL | reads(2), websocket),
        ("refusals", PREFIX | reads(2), refusals),
        ("control", PREFIX | GRADUAL | body(3) | reads(1), control),
        ("many", PREFIX | GRADUAL | body(2) | reads(1), many),
    ]:
        conn, _ = client()
        write(conn)
        yield name, bytes([mode]) + conn.data_to_send()
    # Without the prefix: the client's own opening, then two requests.
    conn, opening = client()
    get(conn)
    conn.send_headers(3, [(":method", "HEAD")] + GET[1:], end_stream=True)
    yield "opening", bytes([reads(3) | body(1)]) + opening + conn.data_to_send()
    yield "http1", bytes([reads(3)]) + b"GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n"


def main():
    folder = pathlib.Path(__file__).resolve().parent / "seeds" / "h2"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in seeds():
        (folder / name).write_bytes(data)
        print(f"{folder / name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
