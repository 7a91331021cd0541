"""The boot page: a browser's navigation to a sleeping app that is not ready within a second gets
a page with the app's output so far (503, no-store, a script allowed by nonce only), whose
questions (X-Rp-Boot) rp answers until the app is ready and the app answers after; fetches, curl
and API clients are held as before; a fast boot never shows it; `boot_page: false` turns it off.
In Chromium, the page turns into the app by itself."""

import http.client
import json
import re
import threading

import pytest

from chromium import Browser
from conftest import APPS, kill_pids, pids_with_env, stop_daemon, wait_until

PY = "/usr/bin/python3"
NAVIGATE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document"}


@pytest.fixture
def link(project, rp_home, rp_env, rpc):
    """Links the project with `procfile` and rp.yaml text; stops everything at the end."""

    def make(procfile, yaml=""):
        project.write("Procfile", procfile)
        project.write("rp.yaml", yaml)
        code, out, err = rpc("link")
        assert code == 0, out + err
        return int(rp_env["RP_HTTP_PORT"])

    yield make
    stop_daemon(rp_home)
    kill_pids(set(pids_with_env("RP_HOME", str(rp_home))) |
              set(pids_with_env("RP_APP", project.app)))


def slow(delay):
    return (f"web: exec {PY} {APPS / 'od_app.py'}\n",
            f"env:\n  OD_DELAY: \"{delay}\"\n")


def get(port, app, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", "/", headers={"Host": f"{app}.test:{port}", **(headers or {})})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def test_a_slow_boot_shows_the_boot_page_to_a_navigation_only(link, project):
    port = link(*slow(4))
    held = {}
    # curl-like: held until the app answers, whatever the boot page does.
    plain = threading.Thread(target=lambda: held.update(answer=get(port, project.app)))
    plain.start()
    # An API client that takes HTML only as a fallback is held too.
    api = threading.Thread(target=lambda: held.update(api=get(
        port, project.app, {"Accept": "application/json, text/html;q=0.1"})))
    api.start()
    status, headers, body = get(port, project.app, NAVIGATE)
    assert status == 503, body
    assert headers["cache-control"] == "no-store"
    assert f"Starting {project.app}" in body
    nonce = re.search(r"script-src 'nonce-([0-9a-f]{32})'", headers["content-security-policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in body
    assert "frame-ancestors 'none'" in headers["content-security-policy"]

    # The page's question, while the app boots: answered by rp, with the output so far.
    status, headers, body = get(port, project.app, {"X-Rp-Boot": "1"})
    assert status == 200 and headers["x-rp-boot-state"] == "starting", body
    progress = json.loads(body)
    assert progress["state"] == "starting"
    assert wait_until(lambda: any("booting" in line for line in json.loads(
        get(port, project.app, {"X-Rp-Boot": "1"})[2]).get("log", [])), timeout=30)

    plain.join(timeout=120)
    api.join(timeout=120)
    for answer in (held["answer"], held["api"]):
        status, _, body = answer
        assert status == 200 and json.loads(body)["pid"]
    # Ready: the same question goes to the app, which is how the page knows to reload.
    status, headers, body = get(port, project.app, {"X-Rp-Boot": "1"})
    assert status == 200 and "x-rp-boot-state" not in headers and json.loads(body)["pid"]
    status, _, body = get(port, project.app, NAVIGATE)
    assert status == 200 and json.loads(body)["pid"]


def test_a_fast_boot_never_shows_it(link, project):
    port = link(f"web: exec {PY} {APPS / 'od_app.py'}\n")
    status, headers, body = get(port, project.app, NAVIGATE)
    assert status == 200, body
    assert json.loads(body)["pid"]


def test_boot_page_false_holds_a_navigation_as_before(link, project):
    procfile, yaml = slow(2)
    port = link(procfile, yaml + "boot_page: false\n")
    status, headers, body = get(port, project.app, NAVIGATE)
    assert status == 200, body
    assert json.loads(body)["pid"]
    assert "x-rp-boot-state" not in headers


def test_a_boot_that_fails_at_once_is_the_502_page(link, project):
    port = link(f"web: exec {PY} {APPS / 'od_fail.py'}\n")
    status, _, body = get(port, project.app, NAVIGATE)
    assert status == 502, body
    assert "od_fail: loading config/database.yml" in body


def test_the_boot_page_turns_into_the_app_in_chromium(link, project, tmp_path):
    port = link(*slow(3))
    url = f"http://{project.app}.test:{port}/"
    with Browser(tmp_path / "home", tmp_path / "profile", tmp_path / "chromium.log") as browser:
        context = browser.call("Target.createBrowserContext")["browserContextId"]
        target = browser.call("Target.createTarget",
                              {"url": "about:blank", "browserContextId": context})["targetId"]
        session = browser.call("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.navigate", {"url": url}, session, timeout=60)
        assert browser.wait_js(session, "document.title.startsWith('Starting')", timeout=30)
        assert browser.wait_js(session, "document.getElementById('log')?.textContent"
                                        ".includes('booting')", timeout=30)
        # No reload from here: the page becomes the app (od_app answers JSON).
        body = browser.wait_js(session, "document.body && document.body.innerText.includes"
                                        "('\"pid\"') && document.body.innerText", timeout=60)
    assert json.loads(body)["pid"]
