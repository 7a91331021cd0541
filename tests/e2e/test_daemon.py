"""The daemon: one per RP_HOME owns the proxy and every app's processes, and every other command
is a client of its control API on RP_HOME/rp.sock. Several projects at once, the ways a
foreground `rp up` ends, `rp up -d` and `rp down`, what each command prints, static routes, the
control API's rules, one daemon per home, a daemon that is killed (guardian, orphans reclaimed,
stale socket) or wedged, and a project whose files are invalid."""

import http.client
import json
import os
import pathlib
import re
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from conftest import (APPS, Project, api, api_raw, app_status, daemon_pid, free_port, kill_pids,
                      process_alive, run_rp, stop_daemon, wait_until)

PY = sys.executable
WHOAMI = f"exec {PY} {APPS / 'd_whoami.py'}"
WEB = f"web: {WHOAMI}\n"
WEB_AND_WORKER = f"web: {WHOAMI}\nworker: exec sleep 600\n"


# ---------------------------------------------------------------------------------------------
# helpers

@pytest.fixture
def other_project(tmp_path_factory, request):
    """A second project, in a directory of its own; its processes are killed at teardown."""
    safe = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:30].strip("-")
    path = tmp_path_factory.mktemp("other") / f"q-{safe}-{os.getpid() % 1000}"
    path.mkdir()
    p = Project(path)
    yield p
    kill_pids(p.leftover_pids())


def http_port(rp_env):
    return int(rp_env["RP_HTTP_PORT"])


def get(rp_env, host, path="/"):
    """(status, body bytes) of a GET through rp's proxy with this Host."""
    conn = http.client.HTTPConnection("127.0.0.1", http_port(rp_env), timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def whoami(rp_env, host, path="/"):
    status, body = get(rp_env, host, path)
    assert status == 200, (host, status, body)
    return json.loads(body)


def request_bytes(method, path, body):
    return (f"{method} {path} HTTP/1.1\r\nHost: rp\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def lock_pid(home):
    return int((home / "rp.lock").read_text().strip())


def ppid_and_comm(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None, None
    comm = s[s.find("(") + 1:s.rfind(")")]
    ppid = int(s[s.rfind(")") + 2:].split()[1])
    return ppid, comm


def guardians_of(daemon):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid, comm = ppid_and_comm(int(entry))
            if ppid == daemon and comm == "rp-guardian" and process_alive(int(entry)):
                out.append(int(entry))
    return out


def daemon_log(home):
    try:
        return (home / "logs" / "daemon.log").read_text()
    except OSError:
        return ""


def write_project(project, procfile, rp_yaml=None):
    project.write("Procfile", procfile)
    if rp_yaml:
        project.write("rp.yaml", rp_yaml)


def up_detached(rpc, project, cwd=None):
    code, out, err = rpc("up", "-d", cwd=cwd, timeout=90)
    assert code == 0, (out, err)
    return out


def table(out):
    """`rp ls` output -> (header line, rows as lists of cells cut at the header's columns)."""
    lines = out.rstrip("\n").split("\n")
    header = lines[0]
    names = header.split()
    assert names == ["NAME", "STATE", "BY", "PORT", "PID", "UPTIME", "URL"], header
    starts = [header.index(n) for n in names]
    rows = []
    for line in lines[1:]:
        if not line.strip() or line.split()[0].endswith(":"):
            continue   # problems after the table ("NAME: file:line: ...") are not rows
        cells = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(line) + 1
            # A cell must not run into the next column: the character before a column is blank.
            if i > 0 and start <= len(line):
                assert line[start - 1] == " ", f"column {names[i]} misaligned in {line!r}"
            cells.append(line[start:end].strip())
        rows.append((line, cells))
    return header, rows


def row_named(rows, first):
    for line, cells in rows:
        if cells[0] == first:
            return line, cells
    raise AssertionError(f"no row {first!r} in {[l for l, _ in rows]}")


# ---------------------------------------------------------------------------------------------
# 1. Several projects at once

def test_two_projects_up_at_once_under_one_daemon(project, other_project, rp, rpc, rp_env,
                                                  rp_home):
    write_project(project, WEB)
    write_project(other_project, WEB)
    a = rp("up")
    a.wait_for(r"web is ready", timeout=60)
    daemon = daemon_pid(rp_home)
    assert daemon
    b = rp("up", cwd=other_project.path)
    b.wait_for(r"web is ready", timeout=60)
    # One daemon: the first command started it, the second used it.
    assert daemon_pid(rp_home) == daemon
    assert app_status(rp_home, project.app)["attached"] is True
    assert app_status(rp_home, other_project.app)["attached"] is True

    assert whoami(rp_env, f"{project.app}.test")["app"] == project.app
    assert whoami(rp_env, f"{other_project.app}.test")["app"] == other_project.app

    code, out, err = rpc("ls")
    assert code == 0, err
    _, rows = table(out)
    for p in (project, other_project):
        _, cells = row_named(rows, p.app)
        assert cells[1] == "running" and cells[2] == "rp up", cells
    a.signal(signal.SIGINT)
    b.signal(signal.SIGINT)
    assert a.wait() == 0 and b.wait() == 0


# ---------------------------------------------------------------------------------------------
# 2. A foreground rp up owns its project

def test_ctrl_c_stops_the_project_and_keeps_the_daemon(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB_AND_WORKER)
    run = rp("up")
    run.wait_for(r"web is ready", timeout=60)
    daemon = daemon_pid(rp_home)
    assert daemon
    pids = project.leftover_pids()
    assert pids
    run.signal(signal.SIGINT)
    assert run.wait(timeout=30) == 0
    out = run.output()
    assert re.search(r"SIGINT received, stopping", out), out
    assert "all processes stopped" in out
    assert wait_until(lambda: not any(process_alive(p) for p in pids), 10)
    assert not project.leftover_pids()
    # The daemon stays, and forgot the app (it was not linked).
    assert process_alive(daemon) and daemon_pid(rp_home) == daemon
    code, out, err = rpc("ls")
    assert code == 0, err
    assert project.app not in out
    assert app_status(rp_home, project.app) is None


def test_rp_up_takes_over_a_linked_app_and_gives_it_back(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB)
    code, out, err = rpc("link")
    assert code == 0, err
    woken = whoami(rp_env, f"{project.app}.test")  # a request starts the linked app
    # rp up in its directory restarts it with this terminal's environment, and shows it.
    run = rp("up", env=dict(rp_env, TAKEOVER_MARK="from-the-terminal"))
    run.wait_for(r"was running for the daemon: restarted with this terminal's environment")
    run.wait_for(r"web is ready", timeout=60)
    now = whoami(rp_env, f"{project.app}.test")
    assert now["pid"] != woken["pid"]
    env_of = pathlib.Path(f"/proc/{now['pid']}/environ").read_bytes().split(b"\0")
    assert b"TAKEOVER_MARK=from-the-terminal" in env_of
    assert app_status(rp_home, project.app)["attached"] is True
    # Ctrl-C: the app stops and is linked again, so the next request wakes it.
    run.signal(signal.SIGINT)
    assert run.wait(timeout=30) == 0
    status = app_status(rp_home, project.app)
    assert status["linked"] is True and status["attached"] is False
    assert status["state"] == "stopped"
    again = whoami(rp_env, f"{project.app}.test")
    assert again["pid"] not in (woken["pid"], now["pid"])


def test_sigkill_of_rp_up_stops_its_processes(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB_AND_WORKER)
    run = rp("up")
    run.wait_for(r"web is ready", timeout=60)
    daemon = daemon_pid(rp_home)
    pids = project.leftover_pids()
    assert len(pids) >= 2
    run.signal(signal.SIGKILL)
    run.wait()
    assert wait_until(lambda: not any(process_alive(p) for p in pids), 15), \
        [p for p in pids if process_alive(p)]
    assert wait_until(lambda: not project.leftover_pids(), 10)
    assert process_alive(daemon) and daemon_pid(rp_home) == daemon
    assert wait_until(lambda: app_status(rp_home, project.app) is None, 10)
    code, out, err = rpc("ls")
    assert code == 0 and project.app not in out


# ---------------------------------------------------------------------------------------------
# 3. rp up -d and rp down

def test_up_detached_then_down(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB_AND_WORKER)
    code, out, err = rpc("up", "-d", timeout=90)
    assert code == 0, (out, err)
    url = f"http://{project.app}.test:{http_port(rp_env)}"
    assert out.strip().splitlines()[-1] == f"{project.app} is ready at {url}", out
    # Once more, for a script: the daemon's answer as it is.
    code, out, err = rpc("up", "-d", "--json", timeout=90)
    assert code == 0, (out, err)
    answer = json.loads(out)
    assert (answer["app"], answer["url"]) == (project.app, url), out
    code, out, err = rpc("up", "--json")
    assert code != 0 and "--json requires --detach" in err
    assert daemon_pid(rp_home)   # started for it (quietly: stderr is not a terminal here)
    # Ready means ready: the first request right away is answered by the app.
    assert whoami(rp_env, f"{project.app}.test")["process"] == "web.1"

    code, out, err = rpc("ls")
    assert code == 0, err
    _, rows = table(out)
    _, cells = row_named(rows, project.app)
    assert cells[1:3] == ["running", "rp up -d"], cells
    assert cells[6] == url
    pids = project.leftover_pids()
    assert len(pids) >= 2

    code, out, err = rpc("down")
    assert code == 0, err
    assert out.strip() == f"{project.app} stopped"
    assert wait_until(lambda: not any(process_alive(p) for p in pids), 10)
    assert not project.leftover_pids()
    assert app_status(rp_home, project.app) is None   # not linked: forgotten
    assert daemon_pid(rp_home)                         # the daemon stays


def test_down_without_a_daemon_starts_none(project, rpc, rp_home):
    write_project(project, WEB)
    code, out, err = rpc("down")
    assert code == 0, err
    assert out.strip() == "rp daemon is not running: nothing to stop"
    assert daemon_pid(rp_home) is None
    assert not (rp_home / "rp.sock").exists()


def test_up_detached_failure_shows_the_log(project, rp, rpc, rp_home):
    write_project(project, "web: echo about to fail; echo oops >&2; exit 3\n")
    code, out, err = rpc("up", "-d", timeout=90)
    assert code == 1, (out, err)
    assert "rp up: " in err
    assert "its last lines:" in err
    assert "about to fail" in err


# ---------------------------------------------------------------------------------------------
# 4. What each command prints

def test_ls_table_is_aligned_and_status_json(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB_AND_WORKER)
    up_detached(rpc, project)
    code, out, err = rpc("ls")
    assert code == 0, err
    header, rows = table(out)
    assert header.startswith("NAME ")
    st = app_status(rp_home, project.app)
    by_label = {p["label"]: p for p in st["processes"]}
    _, app_row = row_named(rows, project.app)
    assert app_row == [project.app, "running", "rp up -d", "", "", "",
                       f"http://{project.app}.test:{http_port(rp_env)}"]
    for label in ("web.1", "worker.1"):
        line, cells = row_named(rows, label)
        assert line.startswith("  " + label), line    # indented two spaces
        p = by_label[label]
        assert cells[1] == "running"
        assert cells[2] == ""
        assert cells[4] == str(p["pid"])
        assert re.fullmatch(r"\d+s|\d+m(\d+s)?", cells[5]), cells
        assert cells[6] == ""
    assert row_named(rows, "web.1")[1][3] == str(by_label["web.1"]["port"])

    # rp status is the same table; --json is /v1/status.
    code, out2, err = rpc("status")
    assert code == 0 and out2.splitlines()[0] == header
    code, out, err = rpc("status", "--json")
    assert code == 0, err
    doc = json.loads(out)
    d = doc["daemon"]
    assert d["pid"] == lock_pid(rp_home) == daemon_pid(rp_home)
    assert d["home"] == str(rp_home)
    assert d["http_port"] == http_port(rp_env)
    assert isinstance(d["uptime_s"], int) and isinstance(d["version"], str)
    app = next(a for a in doc["apps"] if a["name"] == project.app)
    assert app["dir"] == str(project.path)
    assert app["attached"] is False and app["linked"] is False
    assert app["state"] == "running"
    assert app["errors"] == []
    assert {p["label"] for p in app["processes"]} == {"web.1", "worker.1"}
    for p in app["processes"]:
        assert p["state"] == "running"
        assert isinstance(p["pid"], int) and process_alive(p["pid"])
        assert isinstance(p["port"], int) and p["port"] > 0
        assert isinstance(p["uptime_s"], int)
    assert doc["routes"] == []
    code, out, err = rpc("ls", "--json")
    assert code == 0 and json.loads(out)["daemon"]["pid"] == d["pid"]


def test_ls_with_nothing_registered(project, rpc, rp_home):
    code, out, err = rpc("ls")
    assert code == 0, err
    assert out.startswith("no apps yet: ")
    assert daemon_pid(rp_home)
    assert "listening on " + str(rp_home / "rp.sock") in daemon_log(rp_home)


TALKER = (f"web: {WHOAMI}\n"
          "talk: while [ ! -e go ]; do sleep 0.05; done; "
          "for i in $(seq 1 50); do echo \"line $i\"; done; exec sleep 600\n")


def start_talker(project, rp):
    write_project(project, TALKER)
    run = rp("up")
    run.wait_for(r"web is ready", timeout=60)
    run.wait_for(r"talk\.1 started")
    (project.path / "go").touch()
    run.wait_for(r"talk\.1\s*\| line 50$")
    return run


def log_lines(out):
    return [re.match(r"^(\S+)\s*\| (.*)$", l).groups() for l in out.splitlines() if l]


def test_logs_last_n_lines_in_order(project, rp, rpc, rp_env):
    start_talker(project, rp)
    code, out, err = rpc("logs", f"{project.app}/talk", "-n", "5")
    assert code == 0, err
    assert log_lines(out) == [("talk.1", f"line {i}") for i in range(46, 51)], out
    # The app's last lines are talk's; APP alone (and the current directory's app) agree.
    code, out, err = rpc("logs", project.app, "-n", "7")
    assert code == 0, err
    assert log_lines(out) == [("talk.1", f"line {i}") for i in range(44, 51)], out
    code, out2, err = rpc("logs", "-n", "3", cwd=project.path)
    # With no APP every app is shown, each line as app/source.
    assert code == 0, err
    assert log_lines(out2) == [(f"{project.app}/talk.1", f"line {i}") for i in range(48, 51)], out2
    # A process filter keeps only that process: web.1 never printed "line".
    code, out, err = rpc("logs", f"{project.app}/web", "-n", "100")
    assert code == 0, err
    assert out.strip(), out
    assert all(src == "web.1" for src, _ in log_lines(out)), out
    code, out, err = rpc("logs", f"{project.app}/talk.1", "-n", "2")
    assert code == 0 and log_lines(out) == [("talk.1", "line 49"), ("talk.1", "line 50")], out
    # An unknown app is an error.
    code, out, err = rpc("logs", "no-such-app")
    assert code == 1 and "no-such-app" in err
    # --json: the API's lines, one object a line.
    code, out, err = rpc("logs", f"{project.app}/talk", "-n", "2", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["source"], x["text"]) for x in lines] == [("talk.1", "line 49"),
                                                         ("talk.1", "line 50")], out
    assert all(x["type"] == "line" and isinstance(x["time"], int) for x in lines)


def test_logs_follow_shows_new_lines(project, rp, rpc, rp_env):
    start_talker(project, rp)
    follower = rp("logs", project.app, "-f", "-n", "2")
    follower.wait_for(r"talk\.1\s*\| line 50$")
    marker = f"/follow-{os.getpid()}-{time.monotonic_ns()}"
    assert whoami(rp_env, f"{project.app}.test", marker)["path"] == marker
    follower.wait_for(rf"^web\.1\s*\| hit {re.escape(marker)}$")
    assert follower.proc.poll() is None   # still following
    follower.proc.kill()
    follower.wait()


def test_start_stop_restart_app_and_process(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB_AND_WORKER)
    up_detached(rpc, project)
    app = project.app

    def proc(label):
        return next(p for p in app_status(rp_home, app)["processes"] if p["label"] == label)

    worker = proc("worker.1")["pid"]
    web = proc("web.1")["pid"]

    code, out, err = rpc("restart", f"{app}/worker")
    assert code == 0, err
    assert out.strip() == f"{app}/worker restarted"
    assert wait_until(lambda: proc("worker.1")["state"] == "running"
                      and proc("worker.1")["pid"] not in (None, worker), 15), proc("worker.1")
    assert wait_until(lambda: not process_alive(worker), 10)
    assert proc("web.1")["pid"] == web        # only the worker
    worker = proc("worker.1")["pid"]

    code, out, err = rpc("stop", f"{app}/worker")
    assert code == 0, err
    assert out.strip() == f"{app}/worker stopped"
    assert wait_until(lambda: proc("worker.1")["state"] == "stopped", 15), proc("worker.1")
    assert proc("worker.1")["pid"] is None and proc("worker.1")["uptime_s"] is None
    assert wait_until(lambda: not process_alive(worker), 10)
    assert proc("web.1")["pid"] == web
    assert whoami(rp_env, f"{app}.test")["pid"] == web
    code, out, err = rpc("ls")
    line, cells = row_named(table(out)[1], "worker.1")
    assert cells[1] == "stopped" and cells[4] == "-", line

    code, out, err = rpc("start", f"{app}/worker")
    assert code == 0, err
    assert out.strip() == f"{app}/worker started"
    assert wait_until(lambda: proc("worker.1")["state"] == "running"
                      and proc("worker.1")["pid"] is not None, 15), proc("worker.1")

    # The whole app; with no APP the current directory's app.
    pids = project.leftover_pids()
    code, out, err = rpc("stop")
    assert code == 0, err
    assert out.strip() == f"{app} stopped"
    st = app_status(rp_home, app)
    assert st is not None and st["state"] == "stopped", st
    assert all(p["pid"] is None and p["state"] == "stopped" for p in st["processes"]), st
    assert wait_until(lambda: not any(process_alive(p) for p in pids), 10)

    code, out, err = rpc("start", app)
    assert code == 0, err
    assert out.strip() == f"{app} started"
    web = whoami(rp_env, f"{app}.test")["pid"]   # ready when start returns
    assert app_status(rp_home, app)["state"] == "running"

    code, out, err = rpc("restart", app)
    assert code == 0, err
    assert out.strip() == f"{app} restarted"
    new_web = whoami(rp_env, f"{app}.test")["pid"]
    assert new_web != web
    assert proc("web.1")["pid"] == new_web
    assert wait_until(lambda: not process_alive(web), 10)

    # Mistakes are errors.
    code, out, err = rpc("stop", f"{app}/nope")
    assert code == 1 and "nope" in err
    code, out, err = rpc("restart", "no-such-app")
    assert code == 1 and "no-such-app" in err


# ---------------------------------------------------------------------------------------------
# 5. Static routes

@pytest.fixture
def static_server(tmp_path):
    """python -m http.server on a free loopback port, serving hello.txt; killed by pid."""
    root = tmp_path / "static"
    root.mkdir()
    (root / "hello.txt").write_text("hello from the static server\n")
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def accepts():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        assert wait_until(accepts, 15)
        yield port
    finally:
        proc.kill()
        proc.wait()


def test_static_route(project, rp, rpc, rp_env, rp_home, static_server):
    port = static_server
    url = f"http://api.test:{http_port(rp_env)}"
    code, out, err = rpc("route", "api", str(port))
    assert code == 0, err
    assert out.strip() == f"api → 127.0.0.1:{port} ({url})"
    status, body = get(rp_env, "api.test", "/hello.txt")
    assert status == 200 and body == b"hello from the static server\n"

    code, out, err = rpc("ls")
    assert code == 0, err
    _, cells = row_named(table(out)[1], "api")
    assert cells == ["api", "route", "rp route", str(port), "-", "-", url], cells
    st = api(rp_home, "GET", "/v1/status")[1]
    assert st["routes"] == [{"name": "api", "port": port, "url": url}]
    assert "api" in (rp_home / "routes.json").read_text()

    # Kept across a daemon restart.
    old = daemon_pid(rp_home)
    code, out, err = rpc("daemon", "stop")
    assert code == 0, err
    assert out.strip() == "rp daemon stopped"
    assert wait_until(lambda: not process_alive(old), 10)
    assert not (rp_home / "rp.sock").exists()
    code, out, err = rpc("ls")
    assert code == 0, err
    assert daemon_pid(rp_home) not in (None, old)
    _, cells = row_named(table(out)[1], "api")
    assert cells[3] == str(port)
    status, body = get(rp_env, "api.test", "/hello.txt")
    assert status == 200 and body == b"hello from the static server\n"

    code, out, err = rpc("route", "rm", "api")
    assert code == 0, err
    assert out.strip() == "removed the route api"
    assert get(rp_env, "api.test", "/hello.txt")[0] == 404
    code, out, err = rpc("ls")
    assert "api" not in out
    code, out, err = rpc("route", "rm", "api")     # gone already
    assert code != 0


@pytest.mark.parametrize("bad", [["api", "0"], ["api", "70000"], ["api", "abc"], ["api", "-1"],
                                 ["bad_name!", "3000"]])
def test_route_rejects_bad_arguments(project, rpc, rp_home, bad):
    code, out, err = rpc("route", *bad)
    assert code != 0, (out, err)
    assert err.strip(), out
    if daemon_pid(rp_home):
        assert api(rp_home, "GET", "/v1/status")[1]["routes"] == []


# ---------------------------------------------------------------------------------------------
# 6. The control API

def test_control_api_rules(project, rp, rpc, rp_env, rp_home):
    write_project(project, WEB)
    up_detached(rpc, project)
    sock = rp_home / "rp.sock"
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600

    status, body = api(rp_home, "GET", "/v1/nope")
    assert status == 404 and "error" in body
    status, body = api(rp_home, "GET", "/nope")
    assert status == 404 and "error" in body
    status, body = api(rp_home, "POST", "/v1/apps/no-such-app/stop", {})
    assert status == 404 and "error" in body

    for method, path in [("GET", "/v1/up"), ("POST", "/v1/status"), ("DELETE", "/v1/status"),
                         ("POST", "/v1/logs"), ("GET", f"/v1/apps/{project.app}/stop"),
                         ("GET", f"/v1/apps/{project.app}/down"), ("GET", "/v1/daemon/stop")]:
        status, body = api(rp_home, method, path)
        assert status == 405, (method, path, status, body)
        assert isinstance(body, dict) and body.get("error"), (method, path, body)

    for path in ["/v1/up", f"/v1/apps/{project.app}/stop"]:
        status, body = api_raw(rp_home, request_bytes("POST", path, b"{not json"))
        assert status == 400, (path, status, body)
        assert json.loads(body)["error"]
    status, body = api_raw(rp_home, request_bytes("PUT", "/v1/routes/x", b"[1, 2"))
    assert status == 400, body
    status, body = api(rp_home, "POST", "/v1/up", {"dir": "relative/path"})
    assert status == 400 and body["error"], body

    # None of that changed anything: the app still runs, the same pid, the same daemon.
    st = app_status(rp_home, project.app)
    assert st["state"] == "running"
    web = st["processes"][0]["pid"]
    assert whoami(rp_env, f"{project.app}.test")["pid"] == web
    assert api(rp_home, "GET", "/v1/status")[1]["routes"] == []
    assert daemon_pid(rp_home)


# ---------------------------------------------------------------------------------------------
# 7. One daemon per RP_HOME

def test_one_daemon_per_home(project, rpc, rp_home):
    code, out, err = rpc("daemon")
    assert code == 0, err
    m = re.search(r"started the daemon \(pid (\d+)\); its log is (\S+)", err)
    assert m, err
    pid = int(m.group(1))
    assert m.group(2) == str(rp_home / "logs" / "daemon.log")
    assert pid == lock_pid(rp_home) and process_alive(pid)

    code, out, err = rpc("daemon")
    assert code == 0, err
    assert re.search(rf"already runs \(pid {pid}\)", err), err
    assert daemon_pid(rp_home) == pid

    code, out, err = rpc("daemon", "--foreground", timeout=30)
    assert code != 0
    assert str(pid) in err and "already runs" in err, err
    assert daemon_pid(rp_home) == pid and lock_pid(rp_home) == pid
    assert rpc("ls")[0] == 0

    code, out, err = rpc("daemon", "stop")
    assert code == 0 and out.strip() == "rp daemon stopped"
    assert wait_until(lambda: not process_alive(pid), 10)
    code, out, err = rpc("daemon", "stop")
    assert code == 0 and out.strip() == "rp daemon is not running"


def test_a_daemon_of_another_home_does_not_share_the_ports(project, rpc, rp_env, rp_home,
                                                           tmp_path):
    """The proxy's threads bind with SO_REUSEPORT; another rp daemon (another RP_HOME, the same
    user) must find the ports taken rather than silently take half the connections."""
    code, out, err = rpc("daemon")
    assert code == 0, err
    other_home = tmp_path / "other-home"
    other_home.mkdir()
    other_env = dict(rp_env, RP_HOME=str(other_home))
    try:
        code, out, err = rpc("daemon", env=other_env)
        assert code == 0, err
        log = (other_home / "logs" / "daemon.log").read_text()
        for kind, port in (("HTTP", rp_env["RP_HTTP_PORT"]), ("HTTPS", rp_env["RP_HTTPS_PORT"])):
            assert f"{kind}: cannot listen on port {port} (127.0.0.1:{port}: Address already in use" \
                in log, log
    finally:
        stop_daemon(other_home)


# ---------------------------------------------------------------------------------------------
# 8. A daemon killed with SIGKILL

GRANDKIDS = (f"web: {PY} {APPS / 'd_whoami.py'} & wait\n"
             "worker: sleep 600 & echo $! > grandchild; wait\n")


def test_killed_daemon_takes_its_apps_along(project, rp, rpc, rp_env, rp_home):
    write_project(project, GRANDKIDS)
    up_detached(rpc, project)
    daemon = daemon_pid(rp_home)
    assert wait_until(lambda: (project.path / "grandchild").exists()
                      and (project.path / "grandchild").read_text().strip())
    pids = project.leftover_pids()
    assert len(pids) >= 4, pids        # two shells, two grandchildren
    guardians = guardians_of(daemon)
    assert len(guardians) == 1, guardians
    try:
        os.kill(daemon, signal.SIGKILL)
        assert wait_until(lambda: not process_alive(daemon), 10)
        # The guardian stops every app process, grandchildren included, soon.
        assert wait_until(lambda: not any(process_alive(p) for p in pids), 15), \
            [p for p in pids if process_alive(p)]
        assert not project.leftover_pids()
        assert wait_until(lambda: not process_alive(guardians[0]), 15)
    finally:
        kill_pids(guardians)
    # The next command starts a new daemon.
    code, out, err = rpc("ls")
    assert code == 0, err
    assert daemon_pid(rp_home) not in (None, daemon)


def fd_targets(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return out


def test_app_processes_inherit_no_descriptor_of_the_daemon(project, rp, rpc, rp_home):
    """An app process that kept the daemon's listening sockets (rp.sock, the HTTP port) would
    keep them alive after the daemon dies: the next command would connect to a socket nobody
    accepts on, and the next daemon would share its HTTP port with a process that never answers."""
    write_project(project, WEB_AND_WORKER)
    up_detached(rpc, project)
    daemons = {t for t in fd_targets(daemon_pid(rp_home)).values()
               if t.startswith("socket:") or t.startswith(str(rp_home))}
    assert daemons
    for p in app_status(rp_home, project.app)["processes"]:
        leaked = {fd: t for fd, t in fd_targets(p["pid"]).items() if t in daemons}
        assert not leaked, (p["label"], leaked)


# The same, but the grandchildren close every descriptor they inherited: reclaiming itself,
# whatever happens to leaked descriptors.
CLOSING_GRANDKIDS = (
    f"web: {PY} -c 'import os, runpy; os.closerange(3, 65536); "
    f"runpy.run_path(\"{APPS / 'd_whoami.py'}\", run_name=\"__main__\")' & wait\n"
    f"worker: {PY} -c 'import os, time; os.closerange(3, 65536); time.sleep(600)' & "
    "echo $! > grandchild; wait\n")


@pytest.mark.parametrize("procfile", [GRANDKIDS, CLOSING_GRANDKIDS],
                         ids=["grandchildren", "grandchildren-closing-fds"])
def test_next_daemon_reclaims_orphans_of_a_killed_one(project, rp, rpc, rp_env, rp_home,
                                                      procfile):
    write_project(project, procfile)
    up_detached(rpc, project)
    daemon = daemon_pid(rp_home)
    assert wait_until(lambda: (project.path / "grandchild").exists()
                      and (project.path / "grandchild").read_text().strip())
    grandchild = int((project.path / "grandchild").read_text())
    pids = project.leftover_pids()
    guardians = guardians_of(daemon)
    assert len(guardians) == 1, guardians
    try:
        os.kill(guardians[0], signal.SIGKILL)
        assert wait_until(lambda: not process_alive(guardians[0]), 10)
        os.kill(daemon, signal.SIGKILL)
        assert wait_until(lambda: not process_alive(daemon), 10)
    finally:
        kill_pids(guardians)
    # The direct children die with the daemon (PDEATHSIG); the grandchildren are orphans.
    time.sleep(1)
    orphans = [p for p in pids if process_alive(p)]
    assert grandchild in orphans, (grandchild, orphans)
    assert (rp_home / "rp.sock").exists()      # left behind

    code, out, err = rpc("ls")
    assert code == 0, err
    assert daemon_pid(rp_home) not in (None, daemon)
    assert wait_until(lambda: not any(process_alive(p) for p in orphans), 15), \
        [p for p in orphans if process_alive(p)]
    assert not project.leftover_pids()
    log = daemon_log(rp_home)
    m = re.search(r"reclaiming (\d+) process(?:es)? left by a daemon that was killed \(pids ([\d, ]+)\)",
                  log)
    assert m, log
    listed = {int(p) for p in m.group(2).split(", ")}
    assert set(orphans) <= listed, (orphans, listed)
    assert int(m.group(1)) == len(listed)
    # Reclaimed once: a later daemon start finds nothing more.
    code, out, err = rpc("daemon", "stop")
    assert code == 0
    assert rpc("ls")[0] == 0
    assert len(re.findall(r"reclaiming \d+ process", daemon_log(rp_home))) == 1


def test_stale_socket_of_a_killed_daemon_is_cleared(project, rpc, rp_home):
    assert rpc("ls")[0] == 0
    daemon = daemon_pid(rp_home)
    guardians = guardians_of(daemon)
    try:
        os.kill(daemon, signal.SIGKILL)
        assert wait_until(lambda: not process_alive(daemon), 10)
        assert (rp_home / "rp.sock").exists()
        code, out, err = rpc("ls")
        assert code == 0, err
        assert out.startswith("no apps yet")
        new = daemon_pid(rp_home)
        assert new not in (None, daemon)
        assert "removing the control socket a daemon that was killed left behind" in \
            daemon_log(rp_home)
        assert stat.S_IMODE(os.stat(rp_home / "rp.sock").st_mode) == 0o600
        assert api(rp_home, "GET", "/v1/status")[1]["daemon"]["pid"] == new
    finally:
        assert wait_until(lambda: not any(process_alive(g) for g in guardians), 10)
        kill_pids(guardians)


# ---------------------------------------------------------------------------------------------
# 9. A wedged daemon

def test_wedged_daemon_cli_times_out(project, rpc, rp_home):
    assert rpc("ls")[0] == 0
    daemon = daemon_pid(rp_home)
    os.kill(daemon, signal.SIGSTOP)
    try:
        code, out, err = rpc("ls", timeout=60)
        assert code == 1, (out, err)
        assert "did not answer within" in err, err
        assert str(daemon) in err
    finally:
        os.kill(daemon, signal.SIGCONT)
    assert rpc("ls")[0] == 0        # and it answers again once it runs


# ---------------------------------------------------------------------------------------------
# 10. A project whose files are invalid

@pytest.mark.parametrize("detach", [False, True])
def test_invalid_rp_yaml_registers_nothing(project, rp, rpc, rp_home, detach):
    write_project(project, WEB, rp_yaml="name: broken\nidle_timout: 5m\n")
    code, out, err = rpc("up", *(["-d"] if detach else []), timeout=60)
    assert code == 1, (out, err)
    assert re.search(r"rp\.yaml:2:1: unknown key 'idle_timout'", err), err
    assert "started" not in out
    assert not project.leftover_pids()
    code, out, err = rpc("ls")
    assert code == 0, err
    assert out.startswith("no apps yet"), out
    # The daemon itself refuses the same project with 422 and the diagnostics.
    status, body = api(rp_home, "POST", "/v1/up",
                       {"dir": str(project.path), "env": dict(os.environ), "detach": True})
    assert status == 422, (status, body)
    d = body["diagnostics"][0]
    assert d["file"].endswith("rp.yaml") and d["line"] == 2 and d["column"] == 1, d
    assert api(rp_home, "GET", "/v1/status")[1]["apps"] == []
    assert not project.leftover_pids()


def test_a_taken_port_80_or_443_moves_rp_to_7780_and_7743(project, rp_env, rp_home):
    """As root (or after `rp setup`) rp takes 80 and 443; when another server has them, even on
    127.0.0.1 alone, it takes 7780 and 7743 as it would without the right, and says so, rather
    than go without HTTP or share the names with that server."""
    if os.geteuid() != 0:
        pytest.skip("binds ports 80 and 443: needs root (CI runs as root)")
    for port in (7780, 7743):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"port {port} is in use here")
    held = []
    for port in (80, 443):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # ::1 left free
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
            held.append(s)
        except OSError:
            s.close()  # another server has it already: taken all the same
    env = {k: v for k, v in rp_env.items() if k not in ("RP_HTTP_PORT", "RP_HTTPS_PORT")}
    try:
        code, out, err = run_rp(["daemon"], project.path, env)
        assert code == 0, err
        log = daemon_log(rp_home)
        assert "HTTP: port 80 is taken by " in log, log  # this test's process, by name and pid
        assert "listening on port 7780 instead" in log, log
        assert "HTTPS: port 443 is taken by " in log and "listening on port 7743 instead" in log
        assert "needs `rp setup`" not in log  # the right is there: the port is not
        code, out, err = run_rp(["ls", "--json"], project.path, env)
        daemon = json.loads(out)["daemon"]
        assert (daemon["http_port"], daemon["https_port"]) == (7780, 7743)
        with socket.create_connection(("127.0.0.1", 7780), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: nothing.test\r\n\r\n")
            assert c.recv(65536).startswith(b"HTTP/1.1 404 ")
    finally:
        stop_daemon(rp_home)
        for s in held:
            s.close()
