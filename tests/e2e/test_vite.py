"""A real Vite dev server behind rp: a stock project with no `server.allowedHosts` works at
NAME.test — page, modules and the HMR WebSocket — because rp sets
__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS; the same Vite without that variable is blocked (403), so
the test can fail.

Vite comes from the npm registry, installed once per version into a cache directory
(RP_TEST_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/rp-tests) and reused by later runs. A machine
without node, npm or the registry fails these tests loudly: `scripts/install-deps` installs
node and npm."""

import asyncio
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import websockets

from conftest import process_alive, wait_until

VITE_HOSTS = "__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS"

# The newest Vite a Node runs. Vite 7 and 8 need Node ^20.19 or >=22.12 (their `engines`); on
# Node 20 here that is Vite 8, which also splits a comma-separated variable (from 8.1; 7 reads it
# as one host pattern). Vite 6 is the last major for Node 18, which is Debian 12's own nodejs.
# RP_TEST_VITE overrides (e.g. RP_TEST_VITE=6.4.6 to try the older pin on a newer Node).
VITE_FOR_NODE = [((20, 19), "8.4.0"), ((18, 0), "6.4.6")]


def node_binary():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: scripts/install-deps installs nodejs and npm")
    return node


def vite_version(node):
    if os.environ.get("RP_TEST_VITE"):
        return os.environ["RP_TEST_VITE"]
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    have = tuple(int(x) for x in out.strip().lstrip("v").split(".")[:2])
    for needs, version in VITE_FOR_NODE:
        if have >= needs:
            return version
    pytest.fail(f"node {out.strip()} is too old for any Vite with a host check (needs 18)")


def cache_root():
    if os.environ.get("RP_TEST_CACHE"):
        return pathlib.Path(os.environ["RP_TEST_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return pathlib.Path(xdg) / "rp-tests"


def installed_version(prefix):
    try:
        return json.loads((prefix / "node_modules/vite/package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="module")
def vite():
    """(node, path of Vite's CLI script, Vite's version): installed from npm on the first run,
    into a scratch directory renamed into place only when whole, so that an interrupted or
    concurrent install never leaves a half one to be used."""
    node = node_binary()
    version = vite_version(node)
    final = cache_root() / f"vite-{version}"
    if installed_version(final) != version:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed: scripts/install-deps installs nodejs and npm")
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = final.parent / f"{final.name}.part-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        (scratch / "package.json").write_text('{"private": true}\n')
        try:
            r = subprocess.run([npm, "install", "--no-audit", "--no-fund", f"vite@{version}"],
                               cwd=scratch, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            shutil.rmtree(scratch, ignore_errors=True)
            pytest.fail(f"npm install vite@{version} took over 10 minutes (is the npm registry "
                        "reachable?)")
        if r.returncode != 0 or installed_version(scratch) != version:
            shutil.rmtree(scratch, ignore_errors=True)
            pytest.fail(f"npm install vite@{version} failed (exit {r.returncode}); these tests "
                        f"need the npm registry:\n{r.stdout}\n{r.stderr}")
        try:
            scratch.rename(final)
        except OSError:  # another run put it there first (or a broken one is in the way)
            if installed_version(final) != version:
                shutil.rmtree(final, ignore_errors=True)
                scratch.rename(final)
        shutil.rmtree(scratch, ignore_errors=True)
    return node, final / "node_modules/vite/bin/vite.js", version


def write_vanilla_project(project):
    """The files of Vite's vanilla template that matter: no vite.config, no allowedHosts."""
    project.write("package.json", json.dumps({
        "name": project.app, "private": True, "version": "0.0.0", "type": "module",
        "scripts": {"dev": "vite", "build": "vite build"}}))
    project.write("index.html", """<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <title>Vite App</title>
  </head>
  <body>
    <div id="app"></div>
    <script type="module" src="/main.js"></script>
  </body>
</html>
""")
    project.write("main.js", """import { setupCounter } from './counter.js'

document.querySelector('#app').innerHTML = `<h1>Hello Vite!</h1><button id="counter"></button>`
setupCounter(document.querySelector('#counter'))
""")
    project.write("counter.js", """export function setupCounter(element) {
  let counter = 0
  const setCounter = (count) => {
    counter = count
    element.innerHTML = `count is ${counter}`
  }
  element.addEventListener('click', () => setCounter(counter + 1))
  setCounter(0)
}
""")


def start_vite(proxied, project, rp_env, vite, without_rps_variable=False):
    node, cli, _ = vite
    write_vanilla_project(project)
    # What a user writes (`vite --port $PORT --strictPort`), with this node and this Vite.
    command = f"{node} {cli} --port $PORT --strictPort"
    if without_rps_variable:
        command = f"env -u {VITE_HOSTS} {command}"
    # Whatever the environment the tests run in says, rp's own value is what is tested.
    rp_env.pop(VITE_HOSTS, None)
    return proxied(f"web: {command}\n", ready=r"web is ready")


def page_and_output(p, body):
    """What a failed assertion shows: the page whole, and what `rp up` printed (Vite's lines
    among them)."""
    return f"{body.decode(errors='replace')}\n--- rp up's output:\n{p.run.output()}"


def hmr_handshake(p, host, token):
    """Opens Vite's HMR socket as its client does (path /, ?token=, subprotocol vite-hmr, the
    page's Origin) through rp with Host `host`; returns Vite's first message."""

    async def talk():
        async with websockets.connect(
                f"ws://{host}/?token={token}", host="127.0.0.1", port=p.port,
                subprotocols=["vite-hmr"], origin=f"http://{host}", open_timeout=10) as ws:
            assert ws.subprotocol == "vite-hmr"
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    return asyncio.run(talk())


def stop_and_check_vite_is_gone(p):
    pids = p.run.started_pids()
    assert pids, p.run.output()
    p.run.signal(2)
    assert p.run.wait() == 0, p.run.output()
    assert wait_until(lambda: not any(process_alive(pid) for pid in pids), timeout=10), pids
    assert p.project.leftover_pids() == []


def test_stock_vite_works_at_name_test(proxied, project, rp_env, vite):
    p = start_vite(proxied, project, rp_env, vite)
    host = f"{project.app}.test:{p.port}"

    status, headers, body = p.request("GET", "/", host=host, headers={"Accept": "text/html"})
    assert status == 200, page_and_output(p, body)
    assert b"/@vite/client" in body and b"/main.js" in body   # Vite's page, with its client

    status, headers, body = p.request("GET", "/main.js", host=host)
    assert status == 200, page_and_output(p, body)
    assert "javascript" in headers["content-type"] and b"setupCounter" in body

    status, headers, body = p.request("GET", "/@vite/client", host=host)
    assert status == 200, page_and_output(p, body)
    token = re.search(rb'const wsToken = "([^"]+)"', body)
    assert token, body[:2000]

    assert hmr_handshake(p, host, token.group(1).decode()) == {"type": "connected"}

    # .localhost names Vite allows on its own; they pass through rp the same way.
    status, _, body = p.request("GET", "/", host=f"{project.app}.localhost:{p.port}")
    assert status == 200, page_and_output(p, body)

    stop_and_check_vite_is_gone(p)


def test_without_rps_variable_vite_blocks_name_test(proxied, project, rp_env, vite):
    """The control: the same Vite, with rp's variable taken away, refuses NAME.test — what every
    stock Vite would do behind a proxy that did not set it."""
    p = start_vite(proxied, project, rp_env, vite, without_rps_variable=True)
    host = f"{project.app}.test:{p.port}"

    status, _, body = p.request("GET", "/", host=host, headers={"Accept": "text/html"})
    assert status == 403, page_and_output(p, body)
    assert b"Blocked request" in body

    # Its HMR socket refuses the name too, token or not.
    status, _, body = p.request("GET", "/@vite/client", host=f"{project.app}.localhost:{p.port}")
    assert status == 200, page_and_output(p, body)
    token = re.search(rb'const wsToken = "([^"]+)"', body).group(1).decode()
    with pytest.raises(websockets.exceptions.InvalidStatusCode):
        hmr_handshake(p, host, token)

    # .localhost needs no variable: Vite allows it itself.
    status, _, body = p.request("GET", "/", host=f"{project.app}.localhost:{p.port}")
    assert status == 200, page_and_output(p, body)

    stop_and_check_vite_is_gone(p)
