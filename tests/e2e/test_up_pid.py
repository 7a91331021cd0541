"""The pid rp shows is the app's own: a simple command runs through `exec` under /bin/sh -c (no
shell stays between rp and the app, even with leading assignments and redirections), while a list
keeps its shell and still runs whole."""

import json
import signal
import re
import sys

from conftest import daemon_pid, wait_until

PY = sys.executable
# Says who it is (its pid, its parent's, $GREETING) on stdout, then waits to be stopped.
PID_APP = """import os, sys, time
print(f"pid {os.getpid()} ppid {os.getppid()} greeting {os.environ.get('GREETING', '-')}",
      flush=True)
time.sleep(600)
"""
SAYS = re.compile(r"pid (\d+) ppid (\d+) greeting (\S+)")


def shown_pids(rpc, app):
    """label -> pid, as `rp status --json` shows them once every process has one."""
    def read():
        code, out, err = rpc("status", "--json")
        assert code == 0, err
        procs = next(a for a in json.loads(out)["apps"] if a["name"] == app)["processes"]
        return {p["label"]: p["pid"] for p in procs} if all(p["pid"] for p in procs) else None
    pids = wait_until(read)
    assert pids, "no pid for every process"
    return pids


def test_the_pid_rp_shows_is_the_apps_own(project, rp, rpc, rp_home):
    project.write("pid_app.py", PID_APP)
    project.write("Procfile",
                  f"web: {PY} pid_app.py\n"
                  f"worker: GREETING=hello {PY} pid_app.py >worker.log 2>&1\n"
                  f"both: echo first && {PY} pid_app.py\n")
    run = rp("up")
    web = SAYS.search(run.wait_for(r"web\.1\s+\| pid .*").group(0))
    both = SAYS.search(run.wait_for(r"both\.1\s+\| pid .*").group(0))
    log = project.path / "worker.log"
    assert wait_until(lambda: log.exists() and SAYS.search(log.read_text())), "worker.log"
    worker = SAYS.search(log.read_text())
    pids = shown_pids(rpc, project.app)

    # A simple command: the pid rp shows is the app's, whose parent is the daemon, not a shell.
    assert pids["web.1"] == int(web.group(1))
    assert pids["worker.1"] == int(worker.group(1))
    assert worker.group(3) == "hello"       # the assignment reached the app through exec
    code, out, err = rpc("ls")
    assert code == 0, err
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("web.1"))
    assert web.group(1) in row, row
    assert int(web.group(2)) == int(worker.group(2)) == daemon_pid(rp_home)

    # A list keeps its shell, runs whole, and the pid rp shows is that shell, the app's parent.
    assert "both.1 | first" in re.sub(r"\s+\|", " |", run.output())
    assert pids["both.1"] == int(both.group(2))

    run.signal(2)
    assert run.wait() == 0
    assert not project.leftover_pids()


def test_a_command_without_shell_syntax_is_started_directly(project, rp, rpc, rp_home):
    """Plain words and $NAME need no shell: rp runs the program itself, looked up in the PATH the
    app gets (here from .env), with $PORT filled in; /proc shows no shell ever ran. A program
    that is not there is reported as a shell would, exit status 127, in the app's output."""
    tools = project.path / "tools"
    tools.mkdir()
    tool = tools / "serve-here"
    tool.write_text(f"#!{PY}\n" + PID_APP.replace("greeting {", "port {sys.argv[1]} greeting {"))
    tool.chmod(0o755)
    project.write(".env", f"PATH={tools}:/usr/bin:/bin\n")
    project.write("Procfile", "web: serve-here $PORT\nmissing: no-such-program-xyz --flag\n")
    run = rp("up")
    line = run.wait_for(r"web\.1\s+\| pid .*").group(0)
    says = re.search(r"pid (\d+) ppid (\d+) port (\d+)", line)
    assert int(says.group(2)) == daemon_pid(rp_home)  # no shell between the daemon and the app
    code, out, err = rpc("status", "--json")
    assert code == 0, err
    web = next(p for a in json.loads(out)["apps"] if a["name"] == project.app
               for p in a["processes"] if p["label"] == "web.1")
    assert web["pid"] == int(says.group(1))
    assert int(says.group(3)) == web["port"]  # $PORT, expanded by rp
    run.wait_for(r"missing\.1\s+\| rp: no-such-program-xyz: not found")
    run.wait_for(r"missing\.1 .*(exited with status 127|status 127)")

    run.signal(2)
    assert run.wait() == 0
    assert not project.leftover_pids()


def test_an_app_gets_default_signals_even_when_rp_was_started_ignoring_them(project, rp):
    """rp started under nohup (SIGHUP ignored) or from a shell that ignores SIGINT or SIGQUIT: the
    app still gets them with their default action, nothing blocked; SIGUSR2, ignored too, stays ignored
    (POSIX keeps an ignored signal across exec, and rp leaves alone what it need not change)."""
    project.write("sigs.py", "import sys, time\n"
                  "fields = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
                  "print('sigs', fields['SigIgn'].strip(), fields['SigBlk'].strip(), flush=True)\n"
                  "time.sleep(600)\n")
    project.write("Procfile", f"web: {PY} sigs.py\n")
    ignored = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR2)
    before = {s: signal.signal(s, signal.SIG_IGN) for s in ignored}
    try:
        run = rp("up")
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
    said = run.wait_for(r"sigs .*").group(0)
    ign, blk = re.search(r"sigs ([0-9a-f]+) ([0-9a-f]+)", said).groups()
    ign, blk = int(ign, 16), int(blk, 16)
    assert blk == 0
    # (Not SIGPIPE: Python ignores it itself as it starts.)
    for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        assert not ign & (1 << (s - 1)), f"{s.name} is ignored in the app"
    assert ign & (1 << (signal.SIGUSR2 - 1))
    run.signal(15)
    assert run.wait() in (0, 143)
    assert not project.leftover_pids()
