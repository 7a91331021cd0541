"""rp up's output: prefixes, whole lines, stderr, partial lines, timestamps, colour."""

import os
import pty
import re
import select
import subprocess
import time

from conftest import RP_BIN, process_alive

# Writes many long lines fast, to stdout and stderr alike, in small unbuffered pieces so that the
# lines of the two processes would mix if rp did not keep them whole.
NOISY = """\
import os, sys
for i in range(400):
    s = sys.stdout if i % 2 else sys.stderr
    line = "{}:{}:".format(os.environ["RP_PROCESS"], i) + "x" * 300
    for k in range(0, len(line), 7):
        s.write(line[k:k + 7])
        s.flush()
    s.write("\\n")
    s.flush()
"""


def test_lines_are_prefixed_whole_and_both_streams_are_shown(project, rp):
    project.write("noisy.py", NOISY)
    project.write("Procfile", "alpha: python3 -u noisy.py && exec sleep 600\n"
                              "be: python3 -u noisy.py && exec sleep 600\n")
    run = rp("up")
    run.wait_for(r"alpha\.1 \| alpha\.1:399:")
    run.wait_for(r"be\.1\s+\| be\.1:399:")
    line_rx = re.compile(r"^(alpha\.1|be\.1   ) \| (alpha\.1|be\.1):(\d+):(x{300})$")
    seen = {"alpha.1": set(), "be.1": set()}
    for line in run.lines:
        if line.startswith("rp ") or ":" not in line:
            continue
        m = line_rx.match(line)
        assert m, f"mixed or malformed line: {line[:120]!r}"
        assert m.group(1).strip() == m.group(2)
        seen[m.group(2)].add(int(m.group(3)))
    assert seen["alpha.1"] == set(range(400)) and seen["be.1"] == set(range(400))
    # rp's own events use the same padded prefix.
    assert re.search(r"^rp      \| alpha\.1 started \(pid \d+, port \d+\)$", run.output(), re.M)
    run.signal(2)
    assert run.wait() == 0


def test_partial_line_is_flushed_after_a_pause(project, rp):
    project.write("Procfile", "web: printf 'password? '; exec sleep 600\n")
    run = rp("up")
    # Shown although no newline ever comes.
    run.wait_for(r"^web\.1 \| password\?", timeout=10)
    run.signal(2)
    assert run.wait() == 0


def test_output_that_is_not_utf8_still_shows(project, rp):
    # Latin-1 and a stray byte: each invalid byte becomes U+FFFD, the rest of the line stays.
    project.write("Procfile", "web: printf 'caf\\351 \\377ok \\342\\202\\254\\n'; exec sleep 600\n")
    run = rp("up")
    run.wait_for("^web\\.1 \\| caf\ufffd \ufffdok \u20ac$", timeout=10)
    run.signal(2)
    assert run.wait() == 0


def test_timestamps(project, rp):
    project.write("Procfile", "web: echo hi; exec sleep 600\n")
    run = rp("up", "-t")
    run.wait_for(r"^\d\d:\d\d:\d\d web\.1 \| hi$")
    run.signal(2)
    assert run.wait() == 0


def run_in_pty(project, env, until):
    """Runs rp up on a pseudo-terminal until `until` appears; returns what the terminal got."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([RP_BIN, "up"], cwd=project.path, env=env, stdin=follower,
                            stdout=follower, stderr=follower)
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 15
    try:
        while until not in out and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    out += os.read(leader, 65536)
                except OSError:
                    break
        proc.send_signal(2)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return out


def test_colour_on_a_terminal_unless_no_color(project, rp_env):
    project.write("Procfile", "web: echo hello; exec sleep 600\n")
    env = {k: v for k, v in rp_env.items() if k != "NO_COLOR"}
    coloured = run_in_pty(project, env, b"hello")
    assert b"\x1b[" in coloured and b"hello" in coloured
    plain = run_in_pty(project, dict(env, NO_COLOR="1"), b"hello")
    assert b"hello" in plain and b"\x1b[" not in plain
    assert not [p for p in project.leftover_pids() if process_alive(p)]


def test_no_colour_into_a_pipe(project, rp, rp_env):
    project.write("Procfile", "web: echo hello; exec sleep 600\n")
    env = {k: v for k, v in rp_env.items() if k != "NO_COLOR"}
    run = rp("up", env=env)
    run.wait_for(r"web\.1 \| hello")
    assert "\x1b[" not in run.output()
    run.signal(2)
    assert run.wait() == 0
