"""A web process that never gets ready: it says why on its output and exits 1."""

import sys

print("od_fail: loading config/database.yml", flush=True)
print("od_fail: error: no database named od_missing", flush=True)
sys.exit(1)
