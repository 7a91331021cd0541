"""URLs that open: when the system resolver does not send *.test to rp (no `rp setup`), the
URLs rp shows — `rp up`, `rp up -d`, `rp link`, `rp ls`, `url` in `rp status --json`, RP_URL —
are the `.localhost` ones, with one line on how to get `.test`; RP_URL_TLD chooses without the
check."""
import json
import pathlib
import socket
import subprocess
import sys

import pytest

from conftest import APPS, DUMP_ENV, api, env_of

WHOAMI = f"exec {sys.executable} {APPS / 'd_whoami.py'}"
HINT = "*.test does not resolve here yet, so URLs are http://NAME.localhost:{port}; for *.test: "


@pytest.fixture
def unresolved_env(rp_env):
    """The test environment without RP_URL_TLD, on a machine where *.test does not resolve."""
    try:
        socket.getaddrinfo("rp-doctor.test", None)
        pytest.skip("*.test resolves on this machine")
    except socket.gaierror:
        pass
    env = dict(rp_env)
    del env["RP_URL_TLD"]
    return env


def test_up_detached_shows_localhost_url_and_hint(project, rpc, rp_env, rp_home, unresolved_env):
    project.write("Procfile", f"web: {WHOAMI}\n")
    port = unresolved_env["RP_HTTP_PORT"]
    code, out, err = rpc("up", "-d", env=unresolved_env, timeout=90)
    assert code == 0, (out, err)
    url = f"http://{project.app}.localhost:{port}"
    lines = out.strip().splitlines()
    assert lines[-2] == f"{project.app} is ready at {url}", out
    assert lines[-1].startswith(HINT.format(port=port)), out
    assert "sudo rp setup --apply" in lines[-1]

    status, body = api(rp_home, "GET", "/v1/status")
    assert status == 200
    assert [a["url"] for a in body["apps"]] == [url]
    assert body["daemon"]["url_hint"] == lines[-1]

    code, out, err = rpc("status", "--json", env=unresolved_env)
    assert code == 0, err
    assert json.loads(out)["apps"][0]["url"] == url

    code, out, err = rpc("ls", env=unresolved_env)
    assert code == 0, err
    assert url in out and out.strip().splitlines()[-1] == lines[-1], out

    # curl resolves *.localhost to loopback by itself: the URL rp shows opens.
    got = subprocess.run(["curl", "-sS", "--max-time", "10", url + "/"], capture_output=True,
                         text=True, timeout=20)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["app"] == project.app
    # And rp's list of apps (the 404 page), reached by .localhost, lists the app's .localhost
    # URL; so does the dashboard's status.
    got = subprocess.run(["curl", "-sS", "--max-time", "10", f"http://nosuch.localhost:{port}/"],
                         capture_output=True, text=True, timeout=20)
    assert got.returncode == 0, got.stderr
    assert f"  {project.app}  {url}/\n" in got.stdout, got.stdout
    got = subprocess.run(["curl", "-sS", "--max-time", "10",
                          f"http://rp.localhost:{port}/v1/status"],
                         capture_output=True, text=True, timeout=20)
    assert got.returncode == 0, got.stderr
    assert [a["url"] for a in json.loads(got.stdout)["apps"]] == [url]


def test_up_and_rp_url_are_localhost(project, rp, rp_env, unresolved_env):
    project.write("Procfile", f"web: {DUMP_ENV}\n")
    port = unresolved_env["RP_HTTP_PORT"]
    run = rp("up", env=unresolved_env)
    url = f"http://{project.app}.localhost:{port}"
    run.wait_for(r"\*\.test does not resolve here yet, so URLs are http://NAME\.localhost:"
                 + port + r"; for \*\.test: sudo rp setup --apply")
    assert env_of(run, "web.1")["RP_URL"] == url
    run.wait_for(rf"{project.app} is at {url}$")


def test_link_shows_localhost_url(project, rpc, unresolved_env):
    project.write("Procfile", f"web: {WHOAMI}\n")
    code, out, err = rpc("link", env=unresolved_env)
    assert code == 0, err
    port = unresolved_env["RP_HTTP_PORT"]
    lines = out.strip().splitlines()
    assert lines[0] == f"linked {project.app}: http://{project.app}.localhost:{port} starts it"
    assert lines[1].startswith(HINT.format(port=port))


def linked_output(project, rpc, env):
    """What `rp link` prints for a web-only project under `env`."""
    project.write("Procfile", f"web: {WHOAMI}\n")
    code, out, err = rpc("link", env=env)
    assert code == 0, err
    return out.strip()


def test_url_tld_chooses_without_check(project, rpc, rp_env):
    out = linked_output(project, rpc, dict(rp_env, RP_URL_TLD="localhost"))
    url = f"http://{project.app}.localhost:{rp_env['RP_HTTP_PORT']}"
    assert out == f"linked {project.app}: {url} starts it"


def test_url_tld_must_be_one_of_the_tlds(project, rpc, rp_env):
    project.write("Procfile", f"web: {WHOAMI}\n")
    code, out, err = rpc("link", env=dict(rp_env, RP_URL_TLD="dev"))
    assert code != 0
    assert "RP_URL_TLD" in err and "'dev' is not one of rp's TLDs" in err, err


def test_without_localhost_tld_urls_stay(project, rpc, unresolved_env):
    out = linked_output(project, rpc, dict(unresolved_env, RP_TLDS="test"))
    url = f"http://{project.app}.test:{unresolved_env['RP_HTTP_PORT']}"
    assert out == f"linked {project.app}: {url} starts it"


def test_without_plain_http_the_urls_are_https_ones(project, rp, rp_env):
    # http_port 0: the proxy serves HTTPS only, so that is where every URL rp shows goes.
    env = dict(rp_env, RP_HTTP_PORT="0", RP_URL_TLD="test")
    project.write("Procfile", f"web: {DUMP_ENV}\n")
    run = rp("up", env=env)
    url = f"https://{project.app}.test:{rp_env['RP_HTTPS_PORT']}"
    assert env_of(run, "web.1")["RP_URL"] == url
    run.wait_for(rf"{project.app} is at {url}$")
    status = api(pathlib.Path(env["RP_HOME"]), "GET", "/v1/status")[1]
    assert [a["url"] for a in status["apps"] if a["name"] == project.app] == [url]
