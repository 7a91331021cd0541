"""rp up's lifecycle: restarts with back-off, the crashed state, tasks before services,
--exit-on-error, tmp/restart.txt."""

import json
import re

from conftest import process_alive


def test_restart_with_backoff_then_crashed_while_others_keep_running(project, rp):
    project.write("Procfile",
                  "flaky: echo attempt; exit 3\n"
                  "steady: while true; do echo tick; sleep 0.5; done\n")
    run = rp("up")
    # 1 s doubling: four restarts, then the fifth exit within a minute marks it crashed.
    for delay in ("1s", "2s", "4s", "8s"):
        run.wait_for(rf"restarting flaky\.1 in {delay}$", timeout=30)
    run.wait_for(r"flaky\.1 crashed: it exited 5 times within a minute; not restarting",
                 timeout=30)
    out = run.output()
    assert out.count("flaky.1  | attempt") == 5
    assert out.count("flaky.1 exited with status 3") == 5
    assert "restarting flaky.1 in 16s" not in out
    # The other process is unaffected and still running.
    ticks = out.count("steady.1 | tick")
    run.wait_for(r"steady\.1 \| tick", count=ticks + 2)
    assert process_alive(run.pid)
    run.signal(2)
    assert run.wait() == 0


def test_tasks_run_first_in_order(project, rp):
    project.write("Procfile", "web: test -f second-done && echo web sees tasks done; "
                              "exec sleep 600\n")
    # rp.yaml order is the order they run in; "second" needs what "first" made.
    project.write("rp.yaml",
                  "processes:\n"
                  "  first: {command: 'echo migrating; touch first-done', kind: task}\n"
                  "  second: {command: 'test -f first-done && touch second-done', kind: task}\n")
    run = rp("up")
    run.wait_for(r"web\.1\s+\| web sees tasks done")
    out = run.output()
    assert out.index("first.1 exited with status 0") < out.index("second.1 started")
    assert out.index("second.1 exited with status 0") < out.index("web.1 started")
    assert "restarting first" not in out
    run.signal(2)
    assert run.wait() == 0


def test_failing_task_stops_rp_up_with_its_status(project, rp):
    project.write("Procfile", "web: exec sleep 600\n")
    project.write("rp.yaml",
                  "processes:\n  migrate: {command: 'echo cannot migrate >&2; exit 4', "
                  "kind: task}\n")
    run = rp("up")
    assert run.wait() == 4
    out = run.output()
    assert "migrate.1 | cannot migrate" in out
    assert "task migrate failed; not starting the services" in out
    assert "web.1" not in out


def test_exit_on_error_stops_all_with_that_status(project, rp):
    project.write("Procfile", "web: exec sleep 600\nonce: sleep 0.5; exit 7\n")
    run = rp("up", "--exit-on-error")
    assert run.wait() == 7
    out = run.output()
    assert "once.1 exited with status 7" in out
    assert re.search(r"web\.1 killed by SIGTERM", out)
    assert "restarting" not in out
    assert not project.leftover_pids()


def test_touching_tmp_restart_txt_restarts_an_attached_app_before_the_next_request(proxied,
                                                                                  project):
    (project.path / "tmp").mkdir()
    p = proxied("web: exec $PY $APPS/od_app.py\n", ready="web is ready")
    status, _, body = p.request("GET", "/")
    assert status == 200, body
    before = json.loads(body)["pid"]
    (project.path / "tmp" / "restart.txt").touch()
    status, _, body = p.request("GET", "/")
    assert status == 200, body
    assert json.loads(body)["pid"] != before
    p.run.wait_for(r"tmp/restart\.txt was touched: restarting")
