"""An app that calls another app over HTTPS as any Python program would: urllib with the default
SSL context, which trusts what SSL_CERT_FILE names, and no CA of its own. Prints `FETCHED status
body` or `FETCH FAILED why`, then waits to be stopped.

Usage: https_get.py NAME PATH. Tests have no DNS for *.test, so the connection goes to 127.0.0.1
on $RP_HTTPS_PORT; the name is still what the certificate is checked against (SNI and Host)."""

import http.client
import os
import socket
import sys
import time
import urllib.request


class ToLoopback(http.client.HTTPSConnection):
    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


class Handler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(ToLoopback, req)


name, path = sys.argv[1], sys.argv[2]
url = f"https://{name}:{os.environ['RP_HTTPS_PORT']}{path}"
try:
    with urllib.request.build_opener(Handler()).open(url, timeout=30) as r:
        print(f"FETCHED {r.status} {r.read().decode()}", flush=True)
except Exception as e:  # what went wrong is the test's message
    print(f"FETCH FAILED {e!r}", flush=True)
time.sleep(600)
