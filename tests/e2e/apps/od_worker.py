"""A worker: appends "worker PID" to $OD_BOOTS when it starts, then runs without a port."""

import os
import time

with open(os.environ["OD_BOOTS"], "a") as f:
    f.write(f"worker {os.getpid()}\n")
print("od_worker: waiting for jobs", flush=True)
time.sleep(3600)
