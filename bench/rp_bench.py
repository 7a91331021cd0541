"""What the Python benchmarks (cold_start.py, dashboard.py) share: the rp binary they run, a free
loopback port, an rp command run to its end, and a process's memory from /proc."""

import os
import pathlib
import socket
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
RP = os.environ.get("RP_BIN", str(ROOT / "build" / "rp"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rp(env, cwd, *args):
    return subprocess.run([RP, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=True).stdout


def status_kb(pid, field):
    """A field of /proc/PID/status in kB (VmRSS, VmHWM); 0 when it is not there."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
