"""rp up's stop paths: Ctrl-C, SIGTERM, SIGHUP, a second Ctrl-C, and rp killed with SIGKILL.
Each must leave no process behind: not the processes rp started, not their children, not a
grandchild that left its process group, not one that ignores SIGTERM."""

import signal

import pytest

from conftest import process_alive, wait_until

# Each process writes the pids it wants checked into pids/, then idles.
PROCFILE = """\
plain: echo $$ > pids/plain; exec sleep 600
grandkids: sleep 600 & echo $! > pids/grandchild; echo $$ > pids/grandkids; wait
escapee: setsid sh -c 'echo $$ > pids/escapee; exec sleep 600' & echo $$ > pids/escapee-parent; wait
stubborn: trap '' TERM; echo $$ > pids/stubborn; while true; do sleep 1; done
"""
EXPECTED = ["plain", "grandchild", "grandkids", "escapee", "escapee-parent", "stubborn"]


def start(project, rp, *args):
    project.write("Procfile", PROCFILE)
    project.write("rp.yaml", "processes:\n  stubborn: {stop_timeout: 1s}\n")
    (project.path / "pids").mkdir()
    run = rp("up", *args)
    run.wait_for(r"4 of 4 processes started")
    files = [project.path / "pids" / name for name in EXPECTED]
    assert wait_until(lambda: all(f.exists() and f.read_text().strip() for f in files))
    pids = {f.name: int(f.read_text()) for f in files}
    assert all(process_alive(p) for p in pids.values()), pids
    return run, pids


def assert_all_gone(project, pids, timeout=10):
    assert wait_until(lambda: not any(process_alive(p) for p in pids.values()), timeout), \
        {name: pid for name, pid in pids.items() if process_alive(pid)}
    assert wait_until(lambda: not project.leftover_pids(), timeout), project.leftover_pids()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stop_signal_stops_everything_and_exits_0(project, rp, sig):
    run, pids = start(project, rp)
    run.signal(sig)
    assert run.wait(timeout=30) == 0
    # By the time rp has exited, everything is already gone: no grace period for stragglers.
    assert not [name for name, pid in pids.items() if process_alive(pid)]
    assert not project.leftover_pids()
    out = run.output()
    assert "stubborn.1 killed by SIGKILL" in out   # ignored SIGTERM, killed after stop_timeout
    assert "all processes stopped" in out


def test_second_ctrl_c_kills_at_once(project, rp):
    project.write("Procfile", "stubborn: trap '' TERM; echo ready; while true; do sleep 1; done\n")
    project.write("rp.yaml", "processes:\n  stubborn: {stop_timeout: 60s}\n")
    run = rp("up")
    run.wait_for(r"stubborn\.1 \| ready")
    run.signal(signal.SIGINT)
    run.wait_for(r"SIGINT received, stopping")
    run.signal(signal.SIGINT)
    # Far sooner than the 60 s stop_timeout.
    assert run.wait(timeout=20) == 0
    assert "received again, killing" in run.output()
    assert not project.leftover_pids()


def test_rp_killed_with_sigkill_leaves_no_orphans(project, rp):
    run, pids = start(project, rp)
    run.signal(signal.SIGKILL)
    run.wait()
    assert_all_gone(project, pids)


def test_custom_stop_signal(project, rp):
    project.write("Procfile",
                  "web: trap 'echo got INT; exit 0' INT; trap '' TERM; echo ready; "
                  "while true; do sleep 0.1; done\n")
    project.write("rp.yaml", "processes:\n  web: {stop_signal: SIGINT, stop_timeout: 30s}\n")
    run = rp("up")
    run.wait_for(r"web\.1 \| ready")
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=20) == 0
    assert "web.1 | got INT" in run.output()
    assert "web.1 exited with status 0" in run.output()
