"""An app that accepts connections and resets them at once (SO_LINGER 0): -> 502."""

import os
import socket
import struct

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(os.environ["PORT"])))
listener.listen(16)
print("listening, resetting every connection", flush=True)
while True:
    conn, _ = listener.accept()
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
