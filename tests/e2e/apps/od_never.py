"""A web process that runs but never listens on $PORT (a boot that times out)."""

import time

print("od_never: still compiling assets", flush=True)
time.sleep(3600)
