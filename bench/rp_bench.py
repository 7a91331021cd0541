"""What the Python benchmarks (cold_start.py, dashboard.py, memory.py) share: the rp binary they
run, a free loopback port, an rp command run to its end, a process's memory from /proc, and the
daemon's stop by pid."""

import os
import signal
import pathlib
import socket
import subprocess
import time

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


def alive(pid):
    """Gone or a zombie counts as dead (nobody may reap the detached daemon here)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def stop_daemon(pid):
    """SIGTERM (it stops every app it runs), SIGKILL after 10 s."""
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
