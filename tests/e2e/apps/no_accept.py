"""An app whose port never accepts: its listen queue is full, so a connect hangs (-> 504)."""

import os
import socket
import time

port = int(os.environ["PORT"])
listener = socket.socket()
listener.bind(("127.0.0.1", port))
listener.listen(0)
fillers = []
for _ in range(4):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    fillers.append(s)
print("listening, never accepting", flush=True)
time.sleep(3600)
