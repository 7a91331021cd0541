"""Git worktrees: a project in a linked worktree (made with real `git worktree add`) is the app
BRANCH.NAME, NAME being the main checkout's, with its own URL, ports and processes; an app's full
name wins over a process name in routing; a detached HEAD names it by its commit."""

import http.client
import json
import re
import subprocess

import pytest

from conftest import APPS, kill_pids, pids_with_env, stop_daemon

PY = "/usr/bin/python3"
# `feature-login` is also a process of the main checkout's app: the worktree's full name wins.
PROCFILE = (f"web: exec {PY} {APPS / 'od_app.py'}\n"
            f"feature-login: exec {PY} {APPS / 'od_app.py'}\n")


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=rp", "-c", "user.email=rp@example.test",
                    "-c", "init.defaultBranch=main", *args],
                   cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path, rp_home, rp_env):
    """A repository `shop` with one commit, and the names linked from it, stopped at the end."""
    main = tmp_path / "shop"
    main.mkdir()
    (main / "Procfile").write_text(PROCFILE)
    git("init", "-q", cwd=main)
    git("add", "Procfile", cwd=main)
    git("commit", "-q", "-m", "start", cwd=main)
    linked = []
    yield main, linked
    stop_daemon(rp_home)
    leftovers = set(pids_with_env("RP_HOME", str(rp_home)))
    for name in linked:
        leftovers.update(pids_with_env("RP_APP", name))
    kill_pids(leftovers)


def link(rpc, directory, linked):
    code, out, err = rpc("link", cwd=directory)
    assert code == 0, (out, err)
    m = re.search(r"^linked (\S+): (\S+) starts it$", out, re.M)
    assert m, out
    linked.append(m.group(1))
    return m.group(1), m.group(2)


def get(port, host):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, (host, r.status, body)
        return json.loads(body)
    finally:
        conn.close()


def test_a_linked_worktree_is_its_own_app_named_branch_dot_name(repo, rpc, rp_env):
    main, linked = repo
    tree = main.parent / "shop-login"
    git("worktree", "add", "-q", "-b", "Feature/Login", str(tree), cwd=main)

    port = int(rp_env["RP_HTTP_PORT"])
    assert link(rpc, main, linked) == ("shop", f"http://shop.test:{port}")
    name, url = link(rpc, tree, linked)
    assert (name, url) == ("feature-login.shop", f"http://feature-login.shop.test:{port}")

    in_main = get(port, "shop.test")
    in_tree = get(port, "feature-login.shop.test")
    assert in_tree["process"] == "web.1"          # the worktree's app, not main's process
    assert in_tree["pid"] != in_main["pid"]
    assert in_tree["port"] != in_main["port"]        # ports of its own
    assert get(port, "feature-login.shop.test")["pid"] == in_tree["pid"]
    assert get(port, "web.feature-login.shop.test")["pid"] == in_tree["pid"]

    code, out, err = rpc("ls", "--json")
    assert code == 0, err
    names = {a["name"]: a for a in json.loads(out)["apps"]}
    assert names["feature-login.shop"]["dir"] == str(tree)
    assert names["shop"]["dir"] == str(main)


def test_a_worktrees_aliases_are_its_own_too(repo, rpc, rp_env):
    main, linked = repo
    (main / "rp.yaml").write_text("aliases: [shop-admin]\n")
    git("add", "rp.yaml", cwd=main)
    git("commit", "-q", "-m", "alias", cwd=main)
    tree = main.parent / "shop-login"
    git("worktree", "add", "-q", "-b", "feature/login", str(tree), cwd=main)
    link(rpc, main, linked)
    assert link(rpc, tree, linked)[0] == "feature-login.shop"  # its alias does not clash
    port = int(rp_env["RP_HTTP_PORT"])
    assert get(port, "shop-admin.test")["pid"] == get(port, "shop.test")["pid"]
    in_tree = get(port, "feature-login.shop-admin.test")
    assert in_tree["pid"] == get(port, "feature-login.shop.test")["pid"]
    assert in_tree["pid"] != get(port, "shop.test")["pid"]


def test_a_detached_worktree_in_a_subdirectory_project(repo, rpc, rp_env):
    main, linked = repo
    # The project is a subdirectory of the repository; its rp.yaml names it in the main checkout.
    sub = main / "apps" / "web"
    sub.mkdir(parents=True)
    (sub / "Procfile").write_text(f"web: exec {PY} {APPS / 'od_app.py'}\n")
    (sub / "rp.yaml").write_text("name: store\n")
    git("add", ".", cwd=main)
    git("commit", "-q", "-m", "sub", cwd=main)
    commit = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=main, check=True,
                            capture_output=True, text=True).stdout.strip()
    tree = main.parent / "detached"
    git("worktree", "add", "-q", "--detach", str(tree), cwd=main)

    name, _ = link(rpc, tree / "apps" / "web", linked)
    assert name == f"{commit}.store"
    assert get(int(rp_env["RP_HTTP_PORT"]), f"{commit}.store.test")["process"] == "web.1"
