"""Mistakes in a project's files: `rp check` lists every one compiler-style and exits 1, and
`rp up` refuses to start with the same text, starting nothing."""

import json

import pytest

from conftest import run_rp

CASES = [
    # (files, the diagnostic line expected, in full up to the fix)
    ({"Procfile": "web: sleep 1\nworker sleep 1\n"},
     "Procfile:2: this line has no process name — write it as 'name: command'"),
    ({"Procfile": "web: sleep 1\nweb.1: sleep 1\n"},
     "Procfile:2: invalid process name 'web.1' — "),
    ({"Procfile": "web: sleep 1\n\nweb: sleep 2\n"},
     "Procfile:3: duplicate process 'web' (first on line 1) — "),
    ({"Procfile": "web: sleep 1\n", ".env": "A=1\nB=\"open\nC=3\n"},
     ".env:2: unterminated double quote in the value of B — "),
    ({"Procfile": "web: sleep 1\n", "rp.yaml": "name: shop\nidle_timout: 5m\n"},
     "rp.yaml:2:1: unknown key 'idle_timout' in rp.yaml — known keys: name, aliases"),
    ({"Procfile": "web: sleep 1\n", "rp.yaml": "processes:\n  web: {stop_timeout: 5}\n"},
     "rp.yaml:2:23: stop_timeout is not a duration: '5' has no unit — "),
    ({"Procfile": "web: sleep 1\n", "rp.yaml": "idle_timeout: soon\n"},
     "rp.yaml:1:15: idle_timeout is not a duration"),
    ({"Procfile": "web: sleep 1\n", "rp.yaml": "formation:\n  web: 1\n  wrker: 2\n"},
     "rp.yaml:3:3: formation names unknown process 'wrker' — known processes: web"),
    ({"Procfile": "web: sleep 1\n", "rp.yaml": "formation: [web]\n"},
     "rp.yaml:1:12: formation must be a map, found a list — "),
]


def write_all(project, files):
    for name, text in files.items():
        project.write(name, text)


@pytest.mark.parametrize("files,expected", CASES)
def test_check_and_up_name_file_line_and_fix(project, rp_env, files, expected):
    write_all(project, files)
    code, out, err = run_rp(["check"], project.path, rp_env)
    assert code == 1
    assert expected in err, err
    # Every diagnostic names a fix after the dash.
    for line in err.splitlines()[:-1]:
        assert " — " in line, line

    code, out, up_err = run_rp(["up"], project.path, rp_env)
    assert code == 1
    assert expected in up_err
    assert "rp up: not starting" in up_err
    assert "started" not in out


def test_check_reports_every_error_at_once(project, rp_env):
    project.write("Procfile", "web sleep 1\nok: sleep 1\n")
    project.write(".env", "X='unterminated\n")
    project.write("rp.yaml", "nmae: x\n")
    code, _, err = run_rp(["check"], project.path, rp_env)
    assert code == 1
    assert "rp.yaml:1:1: unknown key 'nmae'" in err
    assert "Procfile:1: this line has no process name" in err
    assert ".env:1: unterminated single quote" in err
    assert "3 errors" in err


def test_check_json(project, rp_env):
    project.write("Procfile", "web: sleep 1\n")
    project.write("rp.yaml", "web: nope\n")
    code, out, _ = run_rp(["check", "--json"], project.path, rp_env)
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["errors"][0]["file"] == "rp.yaml"
    assert (doc["errors"][0]["line"], doc["errors"][0]["column"]) == (1, 6)
    assert "unknown process 'nope'" in doc["errors"][0]["message"]


def test_check_ok(project, rp_env):
    project.write("Procfile", "web: sleep 1\nworker: sleep 1\n")
    project.write("rp.yaml", "name: shop\nformation: {worker: 2}\n")
    code, out, err = run_rp(["check"], project.path, rp_env)
    assert code == 0, err
    assert "ok: app shop" in out and "worker=2" in out


def test_unknown_process_in_formation_flag(project, rp_env):
    project.write("Procfile", "web: sleep 1\n")
    code, _, err = run_rp(["up", "-m", "web=1,wrker=2"], project.path, rp_env)
    assert code == 1
    assert "-m: formation names unknown process 'wrker' — known processes: web" in err


def test_missing_procfile(project, rp_env):
    code, _, err = run_rp(["up"], project.path, rp_env)
    assert code == 1
    assert "Procfile: cannot read the Procfile — create a Procfile" in err


def test_bad_environment_override(project, rp_env):
    project.write("Procfile", "web: sleep 1\n")
    code, _, err = run_rp(["check"], project.path, dict(rp_env, RP_HTTP_PORT="eighty"))
    assert code == 1
    assert "RP_HTTP_PORT: 'eighty' is not a port" in err


def test_bad_global_config(project, rp_env, rp_home):
    project.write("Procfile", "web: sleep 1\n")
    (rp_home / "config.yaml").write_text("tlds: [test]\ndns_port: 99999\n")
    code, _, err = run_rp(["check"], project.path, rp_env)
    assert code == 1
    assert "config.yaml:2:11: dns_port must be a whole number from 0 to 65535" in err
