"""rp up: what a process is given — environment precedence, PORT per instance, formation, the
hosts Vite is told to allow."""

import socket

from conftest import DUMP_ENV, env_of, run_env, run_rp

VITE_HOSTS = "__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS"


def test_environment_precedence(project, rp, rp_env):
    project.write("Procfile", f"web: {DUMP_ENV}\n")
    project.write(".env", "FROM_ENV=dotenv\nSHARED=dotenv\nOVERRIDE_ME=dotenv\nPORT=1\n"
                          "EXPANDED=${INHERITED_ONLY}-x\n")
    project.write(".env.local", "SHARED=local\n")
    project.write("rp.yaml", "env:\n  OVERRIDE_ME: yaml\n  RP_APP: not-allowed\n")
    env = dict(rp_env, INHERITED_ONLY="inherited", FROM_ENV="inherited")
    run = rp("up", env=env)
    got = env_of(run, "web.1")
    assert got["INHERITED_ONLY"] == "inherited"       # the caller's environment reaches the app
    assert got["FROM_ENV"] == "dotenv"                # .env beats the inherited environment
    assert got["SHARED"] == "local"                   # .env.local beats .env
    assert got["OVERRIDE_ME"] == "yaml"               # rp.yaml env beats both
    assert got["EXPANDED"] == "inherited-x"           # expansion sees the inherited environment
    assert got["PORT"] != "1" and int(got["PORT"]) > 1024  # what rp sets wins over all
    assert got["RP_APP"] == project.app
    assert got["RP_PROCESS"] == "web.1"
    assert got["RP_URL"] == f"http://{project.app}.test:{rp_env['RP_HTTP_PORT']}"


def test_port_per_instance_is_distinct_and_stable(project, rp):
    project.write("Procfile", f"web: {DUMP_ENV}\nworker: {DUMP_ENV}\n")
    first = rp("up", "-m", "web=3")
    ports = {label: env_of(first, label)["PORT"] for label in ("web.1", "web.2", "web.3",
                                                               "worker.1")}
    assert len(set(ports.values())) == 4
    first.signal(2)
    assert first.wait() == 0

    second = rp("up", "-m", "web=3")
    again = {label: env_of(second, label)["PORT"] for label in ports}
    assert again == ports
    second.signal(2)
    assert second.wait() == 0

    # A port something else holds is skipped; the others stay where they were.
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", int(ports["web.2"])))
    taken.listen()
    try:
        third = rp("up", "-m", "web=3")
        moved = {label: env_of(third, label)["PORT"] for label in ports}
        assert moved["web.2"] != ports["web.2"]
        assert moved["web.1"] == ports["web.1"] and moved["worker.1"] == ports["worker.1"]
        third.signal(2)
        assert third.wait() == 0
    finally:
        taken.close()


def test_formation_from_flag_and_rp_yaml(project, rp):
    project.write("Procfile", "web: exec sleep 600\nworker: exec sleep 600\nclock: exec sleep 600\n")
    project.write("rp.yaml", "formation: {worker: 2, clock: 0}\n")
    run = rp("up")
    run.wait_for(r"3 of 3 processes started")
    out = run.output()
    assert "web.1 started" in out and "worker.1 started" in out and "worker.2 started" in out
    assert "clock.1" not in out
    run.signal(2)
    assert run.wait() == 0

    run = rp("up", "-m", "all=0,web=2")
    run.wait_for(r"2 of 2 processes started")
    out = run.output()
    assert "web.2 started" in out and "worker.1" not in out
    run.signal(2)
    assert run.wait() == 0


def test_named_processes_only(project, rp):
    project.write("Procfile", "web: exec sleep 600\nworker: exec sleep 600\n")
    run = rp("up", "worker")
    run.wait_for(r"1 of 1 processes started")
    assert "web.1" not in run.output()
    run.signal(2)
    assert run.wait() == 0


def test_procfile_dev_is_preferred(project, rp):
    project.write("Procfile", "prod: exec sleep 600\n")
    project.write("Procfile.dev", "dev: exec sleep 600\n")
    run = rp("up")
    run.wait_for(r"dev\.1 started")
    assert "prod.1" not in run.output()
    run.signal(2)
    assert run.wait() == 0


def test_run_one_off_command_with_project_environment(project, rp_env):
    project.write("Procfile", "web: exec sleep 600\n")
    project.write(".env", "GREETING='hello $NOT_EXPANDED'\n")
    code, out, _ = run_rp(["run", "sh", "-c", 'echo "$GREETING/$RP_APP"; exit 7'],
                          project.path, rp_env)
    assert code == 7
    assert out == f"hello $NOT_EXPANDED/{project.app}\n"
    code, _, err = run_rp(["run", "no-such-command-xyz"], project.path, rp_env)
    assert code == 127 and "no-such-command-xyz" in err


def test_vite_is_told_to_allow_rps_tlds_unless_the_user_chose(project, rp, rp_env):
    project.write("Procfile", f"web: {DUMP_ENV}\n")
    env = {k: v for k, v in rp_env.items() if k != VITE_HOSTS}
    run = rp("up", env=env)
    assert env_of(run, "web.1")[VITE_HOSTS] == ".test"   # rp's TLDs but localhost, with a dot
    run.signal(2)
    assert run.wait() == 0
    # Several TLDs are comma-joined (Vite ≥ 8.1 splits them); `rp run` is told the same.
    several = dict(env, RP_TLDS="test,dev,localhost")
    assert run_env(project, several)[VITE_HOSTS] == ".test,.dev"

    # A value of the user's is left as it is: the registering command's, or the project's.
    run = rp("up", env=dict(env, **{VITE_HOSTS: "mine.example"}))
    assert env_of(run, "web.1")[VITE_HOSTS] == "mine.example"
    run.signal(2)
    assert run.wait() == 0
    project.write(".env", f"{VITE_HOSTS}=.shop.example\n")
    run = rp("up", env=env)
    assert env_of(run, "web.1")[VITE_HOSTS] == ".shop.example"
    run.signal(2)
    assert run.wait() == 0
    assert run_env(project, several)[VITE_HOSTS] == ".shop.example"
