"""Linked apps, started on demand: `rp link` registers a project with the daemon; its first
request starts it and is held until the web process is ready (or answered 502/504 with the log's
tail); it stops again after idle_timeout; tmp/restart.txt and changes to its files restart it;
links outlive the daemon; ports stay the same from one start to the next."""

import asyncio
import http.client
import json
import os
import re
import shutil
import socket
import threading
import time

import pytest
import websockets

from conftest import (APPS, app_status, daemon_pid, kill_pids, pids_with_env, process_alive,
                      stop_daemon, wait_until)

PY = "/usr/bin/python3"  # Debian's, which has python3-websockets
BOOT_WAIT = 120          # how long a test client waits for an answer (a boot may be under way)


def procfile(**processes):
    """A Procfile running apps from tests/e2e/apps: procfile(web="od_app.py")."""
    return "".join(f"{name}: exec {PY} {APPS / app}\n" for name, app in processes.items())


def rp_yaml(env=None, extra=""):
    """rp.yaml text: `extra` as given (settings), then an `env:` map with quoted values."""
    text = extra
    if env:
        text += "env:\n" + "".join(f"  {k}: {json.dumps(str(v))}\n" for k, v in env.items())
    return text


class OnDemand:
    """Linked projects of one RP_HOME, and requests to them through rp's HTTP port."""

    def __init__(self, project, rp_home, rp_env, rpc, scratch):
        self.project = project
        self.home = rp_home
        self.env = rp_env
        self.rpc = rpc
        self.port = int(rp_env["RP_HTTP_PORT"])
        self.scratch = scratch  # files the apps write, outside every project directory
        self.names = {project.app}

    def write(self, procfile_text, yaml_text=None, directory=None):
        directory = directory or self.project.path
        (directory / "Procfile").write_text(procfile_text)
        if yaml_text is not None:
            (directory / "rp.yaml").write_text(yaml_text)

    def link(self, *args, cwd=None):
        code, out, err = self.rpc("link", *args, cwd=cwd)
        assert code == 0, (out, err)
        m = re.search(r"^linked (\S+): (\S+) starts it$", out, re.M)
        assert m, out
        self.names.add(m.group(1))
        return m.group(1), m.group(2)

    def request(self, app=None, path="/", headers=None, timeout=BOOT_WAIT):
        """(status, headers dict lower-cased, body bytes) over a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Host": f"{app or self.project.app}.test",
                                               "Accept": "text/plain", **(headers or {})})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def get_json(self, app=None, path="/"):
        status, _, body = self.request(app, path)
        assert status == 200, (status, body.decode(errors="replace"))
        return json.loads(body)

    def status(self, app=None):
        return app_status(self.home, app or self.project.app)

    def process(self, label="web.1", app=None):
        st = self.status(app)
        assert st is not None, f"{app or self.project.app} is not in /v1/status"
        return next(p for p in st["processes"] if p["label"] == label)

    def wait_state(self, state, app=None, timeout=30):
        ok = wait_until(lambda: (self.status(app) or {}).get("state") == state, timeout=timeout,
                        interval=0.2)
        assert ok, f"not {state} within {timeout}s: {self.status(app)}"

    def logs(self, app=None):
        code, out, err = self.rpc("logs", app or self.project.app, "-n", "1000")
        assert code == 0, err
        return out


@pytest.fixture
def od(project, rp_home, rp_env, rpc, tmp_path):
    scratch = tmp_path / "od"
    scratch.mkdir()
    o = OnDemand(project, rp_home, rp_env, rpc, scratch)
    yield o
    # The daemon stops its apps; whatever is left of this RP_HOME (the daemon, an app) dies by pid.
    stop_daemon(rp_home)
    leftovers = set(pids_with_env("RP_HOME", str(rp_home)))
    for name in o.names:
        leftovers.update(pids_with_env("RP_APP", name))
    kill_pids(leftovers)


def lines_of(path):
    return path.read_text().splitlines() if path.exists() else []


# --- first request --------------------------------------------------------------------------


def test_slow_app_is_held_and_concurrent_first_requests_boot_it_once(od, project, rp_home):
    boots = od.scratch / "boots"
    od.write(procfile(web="od_app.py"), rp_yaml({"OD_DELAY": 2, "OD_BOOTS": boots}))
    name, url = od.link()
    assert name == project.app
    assert url.startswith(f"http://{project.app}.test")
    assert (rp_home / "apps" / f"{project.app}.json").exists()

    st = od.status()
    assert st["linked"] and st["state"] == "stopped"
    assert all(p["pid"] is None for p in st["processes"])
    assert not boots.exists() and not project.leftover_pids()  # nothing runs before a request

    barrier = threading.Barrier(5)
    results = [None] * 5

    def first_request(i):
        barrier.wait(timeout=30)
        results[i] = od.request()

    threads = [threading.Thread(target=first_request, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=BOOT_WAIT + 10)
    assert all(r is not None for r in results), results
    for status, _, body in results:
        assert status == 200, body.decode(errors="replace")  # held while it slept, not 502
    pids = {json.loads(body)["pid"] for _, _, body in results}
    assert len(pids) == 1
    assert lines_of(boots) == [str(pids.pop())]             # one boot for all five
    assert od.status()["state"] == "running"
    assert od.process()["pid"] == int(lines_of(boots)[0])


def test_app_that_binds_only_ipv6_loopback(od):
    od.write(procfile(web="od_app.py"), rp_yaml({"OD_V6": 1, "OD_DELAY": 1}))
    od.link()
    answer = od.get_json()
    assert answer["process"] == "web.1"
    assert answer["connections"] == 1  # the probe's connection, on ::1, carried the request
    assert "od_app listening on ::1" in od.logs()


@pytest.mark.parametrize("ready", ["connection", "http"])
def test_the_first_request_goes_over_the_probe_s_connection(od, ready):
    # Readiness by a connection alone leaves that connection open for the request that woke the
    # app: the app accepts one connection for its first request, not two. With `ready: {http:}`
    # the probe's own GET used it.
    extra = "processes:\n  web: {ready: {http: /up}}\n" if ready == "http" else ""
    od.write(procfile(web="od_app.py"), rp_yaml({"OD_DELAY": 0.3}, extra))
    od.link()
    assert od.get_json()["connections"] == (1 if ready == "connection" else 2)
    # Again after a stop: a new process, a new probe.
    code, out, err = od.rpc("stop", od.project.app)
    assert code == 0, err
    od.wait_state("stopped")
    assert od.get_json()["connections"] == (1 if ready == "connection" else 2)


def test_boot_failure_is_502_with_the_log_tail(od, project):
    # (A browser that waits over a second would get the boot page: test_boot_page.py.)
    od.write(procfile(web="od_fail.py"), "boot_page: false\n")
    od.link()
    status, headers, body = od.request()
    text = body.decode()
    assert status == 502, text
    assert headers["content-type"].startswith("text/plain")
    assert "exited with status 1" in text
    assert "web.1 | od_fail: loading config/database.yml" in text
    assert "web.1 | od_fail: error: no database named od_missing" in text

    # A browser gets the same as a page.
    status, headers, body = od.request(headers={"Accept": "text/html,*/*"})
    assert status == 502
    assert headers["content-type"].startswith("text/html")
    assert "no database named od_missing" in body.decode()


def test_failed_task_is_502_with_its_output(od, project):
    od.write(procfile(web="od_app.py"),
             "processes:\n  migrate: {command: 'echo od_migrate: migration 042 failed; exit 3', "
             "kind: task}\n")
    od.link()
    status, _, body = od.request()
    text = body.decode()
    assert status == 502, text
    assert "migrate.1 exited with status 3" in text
    assert "od_migrate: migration 042 failed" in text  # the page shows why
    assert not project.leftover_pids()


def test_boot_timeout_is_504_with_the_log_tail(od):
    od.write(procfile(web="od_never.py"), "boot_timeout: 2s\n")
    od.link()
    status, headers, body = od.request()
    text = body.decode()
    assert status == 504, text
    assert headers["content-type"].startswith("text/plain")
    assert "boot_timeout" in text
    assert "web.1 | od_never: still compiling assets" in text


def test_ready_http_holds_the_request_until_the_path_answers(od):
    requests = od.scratch / "requests"
    od.write(procfile(web="od_app.py"),
             rp_yaml({"OD_READY_AFTER": 1.5, "OD_REQUESTS": requests},
                     "processes:\n  web: {ready: {http: /up}}\n"))
    od.link()
    od.get_json(path="/first")
    seen = lines_of(requests)
    first = seen.index("/first 200")
    assert seen.count("/first 200") == 1
    assert "/up 503" in seen[:first], seen     # it was probed while not ready...
    assert "/up 200" in seen[:first], seen     # ...and forwarded only once /up passed
    assert all(line.startswith("/up ") for line in seen[:first]), seen


def test_first_request_runs_tasks_then_starts_every_service(od, project):
    boots = od.scratch / "boots"
    od.write(procfile(web="od_app.py", worker="od_worker.py"),
             rp_yaml({"OD_BOOTS": boots},
                     f"processes:\n  migrate: {{command: 'echo migrate >> {boots}', kind: task}}\n"))
    od.link()
    assert od.process("worker.1")["pid"] is None
    web = od.get_json()
    worker = od.process("worker.1")
    assert worker["state"] == "running" and worker["pid"] is not None
    assert process_alive(worker["pid"])
    assert wait_until(lambda: f"worker {worker['pid']}" in lines_of(boots), timeout=10)
    seen = lines_of(boots)
    assert seen[0] == "migrate", seen  # the task ran (once) before the services started
    assert seen.count("migrate") == 1 and str(web["pid"]) in seen, seen


# --- idle stop ------------------------------------------------------------------------------


def test_idle_app_stops_and_the_next_request_wakes_it(od, project):
    od.write(procfile(web="od_app.py", worker="od_worker.py"),
             rp_yaml({"OD_BOOTS": od.scratch / "boots"}, "idle_timeout: 2s\n"))
    od.link()
    first = od.get_json()
    worker_pid = od.process("worker.1")["pid"]
    assert worker_pid is not None

    od.wait_state("stopped", timeout=30)
    st = od.status()
    assert all(p["pid"] is None for p in st["processes"]), st
    assert wait_until(lambda: not process_alive(first["pid"]) and not process_alive(worker_pid),
                      timeout=10)
    assert wait_until(lambda: not project.leftover_pids(), timeout=10)
    assert "idle for 2s: stopping" in od.logs()

    again = od.get_json()
    assert again["pid"] != first["pid"]
    assert again["port"] == first["port"]  # the same port from one start to the next
    assert od.status()["state"] == "running"
    assert od.process("worker.1")["pid"] not in (None, worker_pid)


def test_request_in_flight_keeps_the_app_awake(od):
    od.write(procfile(web="od_app.py"), "idle_timeout: 2s\n")
    od.link()
    pid = od.get_json()["pid"]
    answer = od.get_json(path="/sleep/5")  # longer than idle_timeout, and answered
    assert answer["pid"] == pid
    assert od.status()["state"] == "running"
    od.wait_state("stopped", timeout=30)


def test_open_websocket_keeps_the_app_awake(od):
    od.write(procfile(web="ws_echo.py"), "idle_timeout: 2s\n")
    od.link()

    async def talk():
        uri = f"ws://{od.project.app}.test:{od.port}/socket"
        # The upgrade is the first request: it wakes the app. No pings: the tunnel stays quiet.
        async with websockets.connect(uri, host="127.0.0.1", port=od.port, open_timeout=BOOT_WAIT,
                                      ping_interval=None) as ws:
            await ws.send("hello")
            first = await asyncio.wait_for(ws.recv(), 10)
            pid = od.process()["pid"]
            states = []
            for _ in range(12):  # 6 s: three times idle_timeout, with the tunnel open and quiet
                await asyncio.sleep(0.5)
                states.append(od.status()["state"])
            await ws.send("still here")
            last = await asyncio.wait_for(ws.recv(), 10)
            return first, last, pid, states

    first, last, pid, states = asyncio.run(talk())
    assert (first, last) == ("hello", "still here")
    assert set(states) == {"running"}, states
    assert od.process()["pid"] == pid
    # Once the WebSocket is closed, the app is idle again.
    od.wait_state("stopped", timeout=30)


# --- restarts and reloads -------------------------------------------------------------------


def boot_count(boots):
    return len(boots.read_text().split()) if boots.exists() else 0


def test_a_request_after_touching_tmp_restart_txt_reaches_the_restarted_app(od, project):
    # Pow's promise: the request right after the touch is served by the new process. The file
    # watch alone would race with it; rp looks at the file on the request path.
    (project.path / "tmp").mkdir()
    boots = od.scratch / "boots"
    od.write(procfile(web="od_app.py"), rp_yaml({"OD_BOOTS": boots}))
    od.link()
    for round in range(3):
        before = od.get_json()["pid"]
        restart = project.path / "tmp" / "restart.txt"
        restart.touch()
        os.utime(restart, ns=(0, (1_000_000 + round) * 1_000_000_000))  # a new mtime each round
        after = od.get_json()["pid"]
        assert after != before, round
        assert not process_alive(before)
    # Each touch restarted it once: the request and the file watch did not both restart it.
    time.sleep(0.5)  # past the file watch's settling (100 ms)
    assert od.get_json()["pid"] == after
    assert boot_count(boots) == 4
    assert od.logs().count("tmp/restart.txt was touched: restarting") == 3


def test_restart_txt_already_there_when_the_app_starts_is_no_touch(od, project):
    (project.path / "tmp").mkdir()
    (project.path / "tmp" / "restart.txt").touch()
    od.write(procfile(web="od_app.py"))
    od.link()
    first = od.get_json()["pid"]
    time.sleep(0.3)
    assert od.get_json()["pid"] == first
    assert "tmp/restart.txt was touched" not in od.logs()


def test_restart_txt_in_a_tmp_made_after_the_link(od, project):
    od.write(procfile(web="od_app.py"))
    od.link()
    before = od.get_json()["pid"]
    # A project without tmp/: what users type is `mkdir -p tmp && touch tmp/restart.txt`, and the
    # request that follows reaches the restarted app.
    (project.path / "tmp").mkdir()
    time.sleep(0.05)  # rp learns of tmp/ as soon as it is made, not after the file watch settles
    (project.path / "tmp" / "restart.txt").touch()
    assert od.get_json()["pid"] != before
    assert "tmp/restart.txt was touched: restarting" in od.logs()


def test_restart_txt_in_a_tmp_moved_in_after_the_link(od, project):
    od.write(procfile(web="od_app.py"))
    od.link()
    before = od.get_json()["pid"]
    # A tmp/ that arrives with restart.txt already in it (moved in).
    made = od.scratch / "tmp"
    made.mkdir()
    (made / "restart.txt").touch()
    os.rename(made, project.path / "tmp")
    assert wait_until(lambda: od.process()["pid"] not in (None, before)
                      and od.status()["state"] == "running", timeout=30, interval=0.2), \
        od.status()
    assert "tmp/restart.txt was touched: restarting" in od.logs()


def restarted(od, old_pid):
    return wait_until(lambda: od.process()["pid"] not in (None, old_pid)
                      and od.status()["state"] == "running", timeout=30, interval=0.2)


def test_changed_files_reload_the_definition(od, project):
    od.write(procfile(web="od_app.py"))
    project.write(".env", "OD_VALUE=one\n")
    od.link()
    first = od.get_json()
    assert first["value"] == "one"

    # Valid changes: the running app restarts with each (.env.local over .env, rp.yaml over both).
    project.write(".env.local", "OD_VALUE=two\n")
    assert restarted(od, first["pid"]), od.status()
    second = od.get_json()
    assert second["value"] == "two"
    project.write("rp.yaml", rp_yaml({"OD_VALUE": "three"}))
    assert restarted(od, second["pid"]), od.status()
    third = od.get_json()
    assert third["value"] == "three"
    assert od.status()["errors"] == []

    # An invalid one: the old definition runs on, and the errors are reported.
    project.write("rp.yaml", "idle_timout: 5m\n" + rp_yaml({"OD_VALUE": "four"}))
    assert wait_until(lambda: od.status()["errors"], timeout=30, interval=0.2), od.status()
    errors = od.status()["errors"]
    assert any(re.search(r"rp\.yaml:1:1: unknown key 'idle_timout'", e) for e in errors), errors
    assert od.status()["state"] == "running"
    still = od.get_json()
    assert (still["pid"], still["value"]) == (third["pid"], "three")
    code, out, err = od.rpc("ls")
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, l in enumerate(lines) if l.startswith("NAME"))
    problem = [i for i, l in enumerate(lines)
               if l.startswith(f"{project.app}: ") and "rp.yaml:1:1: unknown key 'idle_timout'" in l]
    assert problem and problem[0] > header, out
    assert "the previous definition runs on" in od.logs()

    # Fixed: the errors go, and the app restarts with the new definition.
    project.write("rp.yaml", rp_yaml({"OD_VALUE": "five"}))
    assert wait_until(lambda: od.status()["errors"] == [], timeout=30, interval=0.2), od.status()
    assert restarted(od, third["pid"]), od.status()
    assert od.get_json()["value"] == "five"


def test_stopped_app_with_invalid_files_answers_502_with_the_errors(od, project):
    boots = od.scratch / "boots"
    od.write(procfile(web="od_app.py"), rp_yaml({"OD_BOOTS": boots}))
    od.link()
    project.write("Procfile", procfile(web="od_app.py") + "worker sleep 1\n")
    assert wait_until(lambda: od.status()["errors"], timeout=30, interval=0.2), od.status()
    assert od.status()["state"] == "error"
    status, _, body = od.request()
    text = body.decode()
    assert status == 502, text
    assert "Procfile:2" in text and "no process name" in text
    assert not boots.exists() and not project.leftover_pids()


def test_link_with_invalid_files_answers_502_until_they_are_fixed(od, project):
    od.write(procfile(web="od_app.py"), "idle_timeout: soon\n")
    code, out, err = od.rpc("link")
    assert code == 0, (out, err)
    assert f"linked {project.app}: " in out
    assert "rp.yaml:1:15: idle_timeout is not a duration" in err
    assert "it will not start until the error above is fixed" in err
    st = od.status()
    assert st["linked"] and st["state"] == "error"
    assert any("rp.yaml:1:15: idle_timeout is not a duration" in e for e in st["errors"]), st
    status, _, body = od.request()
    assert status == 502, body
    assert "rp.yaml:1:15: idle_timeout is not a duration" in body.decode()
    assert not project.leftover_pids()

    project.write("rp.yaml", "idle_timeout: 5m\n")
    assert wait_until(lambda: od.status()["errors"] == [], timeout=30, interval=0.2), od.status()
    assert od.get_json()["process"] == "web.1"


# --- links ----------------------------------------------------------------------------------


def test_link_survives_a_daemon_restart(od, project, rp_home):
    od.write(procfile(web="od_app.py"))
    od.link()
    first = od.get_json()
    before = first["pid"]
    daemon = daemon_pid(rp_home)
    assert daemon is not None

    code, out, err = od.rpc("daemon", "stop")
    assert code == 0, (out, err)
    assert wait_until(lambda: not process_alive(daemon), timeout=30)
    assert wait_until(lambda: not process_alive(before), timeout=10)
    assert (rp_home / "apps" / f"{project.app}.json").exists()

    code, out, err = od.rpc("ls")          # any command starts a new daemon
    assert code == 0, err
    assert project.app in out
    assert daemon_pid(rp_home) not in (None, daemon)
    st = od.status()
    assert st["linked"] and st["state"] == "stopped"
    after = od.get_json()
    assert after["pid"] != before
    assert after["port"] == first["port"]  # ports are the same with a new daemon too


def test_link_under_another_name(od, project, rp_home):
    name = f"od-named-{os.getpid() % 1000}"
    od.write(procfile(web="od_app.py"))
    assert od.link(name)[0] == name
    assert (rp_home / "apps" / f"{name}.json").exists()
    assert od.get_json(app=name)["process"] == "web.1"
    assert od.request()[0] == 404  # the directory's name is not registered
    code, out, err = od.rpc("unlink", name)
    assert code == 0, err
    assert wait_until(lambda: od.status(name) is None, timeout=30), od.status(name)
    assert od.request(app=name)[0] == 404


def test_unlink(od, project, rp_home):
    od.write(procfile(web="od_app.py"))
    od.link()
    pid = od.get_json()["pid"]
    code, out, err = od.rpc("unlink")
    assert code == 0, err
    assert f"unlinked {project.app}" in out
    assert not (rp_home / "apps" / f"{project.app}.json").exists()
    # Once `rp unlink` has answered, the name is gone: a request does not start the app again.
    status, _, body = od.request()
    assert status == 404, body.decode()
    assert f"no app is named '{project.app}.test'" in body.decode()
    assert wait_until(lambda: not process_alive(pid) and not project.leftover_pids(), timeout=30)
    assert wait_until(lambda: od.status() is None, timeout=10), od.status()
    assert od.request()[0] == 404
    log = (rp_home / "logs" / f"{project.app}.log").read_text()
    assert log.count("web.1 started") == 1, log


def test_project_directory_gone(od, project, tmp_path):
    od.write(procfile(web="od_app.py"))
    od.link()
    other = tmp_path / f"{project.app}-other"
    other.mkdir()
    od.write(procfile(web="od_app.py"), directory=other)
    other_name, _ = od.link(cwd=other)
    assert other_name == other.name
    pid = od.get_json()["pid"]
    od.get_json(app=other_name)

    shutil.rmtree(project.path)
    assert wait_until(lambda: any("the project's directory is gone" in e
                                  for e in od.status()["errors"]), timeout=30, interval=0.2), \
        od.status()
    od.wait_state("error", timeout=30)
    assert wait_until(lambda: not process_alive(pid), timeout=30)
    status, _, body = od.request()
    assert status == 502, body
    assert "the project's directory is gone" in body.decode()
    assert od.get_json(app=other_name)["process"] == "web.1"  # the other app is not disturbed


def test_restored_project_directory_works_again(od, project, tmp_path):
    od.write(procfile(web="od_app.py"))
    od.link()
    od.get_json()
    shutil.rmtree(project.path)
    od.wait_state("error", timeout=30)
    # The fix the error names: "restore it".
    project.path.mkdir()
    od.write(procfile(web="od_app.py"))
    assert wait_until(lambda: od.status()["errors"] == [], timeout=30, interval=0.2), od.status()
    assert od.get_json()["process"] == "web.1"


# --- ports and logs -------------------------------------------------------------------------


def test_port_held_by_a_foreign_process(od, project, rp_home):
    od.write(procfile(web="od_app.py"))
    od.link()
    port = od.get_json()["port"]
    assert od.process()["port"] == port

    code, out, err = od.rpc("stop", project.app)
    assert code == 0, err
    od.wait_state("stopped")
    assert od.get_json()["port"] == port  # stable from one start to the next

    code, out, err = od.rpc("stop", project.app)
    assert code == 0, err
    od.wait_state("stopped")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen(1)
        answer = od.get_json()  # the app still answers, on another port
        moved = answer["port"]
        assert moved != port
        assert od.process()["port"] == moved
        with open("/proc/self/comm") as f:
            me = f.read().strip()
        expected = (f"port {port} of web.1 is held by {me} (pid {os.getpid()}); "
                    f"web.1 uses port {moved} this time")
        assert expected in od.logs()


def test_app_output_goes_to_its_log_file(od, project, rp_home):
    od.write(procfile(web="od_app.py"))
    od.link()
    pid = od.get_json(path="/od-log-check")["pid"]
    log = rp_home / "logs" / f"{project.app}.log"

    def has(*needles):
        text = log.read_text() if log.exists() else ""
        return all(n in text for n in needles)

    assert wait_until(lambda: has(f"web.1 | od_app {pid} booting", "web.1 | od_app listening on",
                                  f"web.1 started (pid {pid}"), timeout=10), \
        log.read_text() if log.exists() else "no log file"
    # Access lines go to the file too (control-api.md).
    assert wait_until(lambda: has("GET /od-log-check 200"), timeout=10), log.read_text()
