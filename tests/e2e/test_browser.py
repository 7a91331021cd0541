"""A real browser trusts rp's certificates once `rp trust --apply` has filled the NSS database of
its user: headless Chromium (Debian's `chromium`) with a scratch HOME opens an app over HTTPS
with no certificate error, and the same browser with an empty HOME refuses it. rp trust runs
with --root, so nothing of this machine or its real home is touched.

Over HTTP/2 (which Chromium speaks to rp's HTTPS port): a page of 300 ES modules fetched side by
side loads completely (the load-event time over h2 and over HTTP/1.1 is printed, never
asserted), and a WebSocket opened by a page loaded over h2 goes over h2 as an extended CONNECT
(RFC 8441). Those tests drive Chromium over the DevTools protocol on a pipe, with nothing but
Python's standard library: no npm, no browser download."""

import os
import re
import signal
import subprocess

from chromium import CHROMIUM_FLAGS, Browser
from conftest import run_rp

ORIGIN = "web: exec $PY $APPS/origin.py\n"
MODULES = "web: exec $PY $APPS/modules.py\n"


def dump_dom(home, url, tmp_path):
    """What headless Chromium, run with HOME=`home`, shows at `url` ('' for an error page). The
    browser and every process it starts share a new session, killed as a group afterwards."""
    profile = tmp_path / f"profile-{abs(hash(str(home)))}"
    proc = subprocess.Popen(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        env=dict(os.environ, HOME=str(home)), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=90)
        return out.decode(errors="replace")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def trusting_home(project, rp_env, tmp_path):
    """A scratch HOME whose NSS database trusts rp's CA (`rp trust --apply` under a scratch
    --root, so nothing of this machine is touched)."""
    root = tmp_path / "root"
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    home = root / "home/tester"
    home.mkdir(parents=True)
    code, out, err = run_rp(["trust", "--apply", "--root", str(root)], project.path,
                            dict(rp_env, HOME="/home/tester"))
    assert code == 0, out + err
    return home


def test_chromium_trusts_an_app_after_rp_trust_apply(proxied, rp_env, project, tmp_path):
    p = proxied(ORIGIN)
    url = f"https://{p.project.app}.test:{rp_env['RP_HTTPS_PORT']}/h"
    home = trusting_home(project, rp_env, tmp_path)

    page = dump_dom(home, url, tmp_path)
    assert '"path": "/h"' in page, page[:2000]

    # The control: the same browser without rp's CA shows no page of the app.
    empty = tmp_path / "empty-home"
    empty.mkdir()
    assert '"path": "/h"' not in dump_dom(empty, url, tmp_path)


def module_page_loads(home, url, tmp_path, name, *flags, runs=3):
    """Loads the 300-module page `runs` times, each in a new browser context of one browser
    started with `flags`, and checks that each load ran all 300 modules. Per load: the time of
    its load event in ms, and the protocol the page came over and each module did (as the
    browser's Navigation and Resource Timing entries name it)."""
    loads = []
    with Browser(home, tmp_path / f"profile-{name}", tmp_path / f"chromium-{name}.log",
                 *flags) as browser:
        for _ in range(runs):
            session, context = browser.open(url)
            assert browser.wait_js(session, "document.getElementById('done').textContent",
                                   timeout=30) == "300"
            nav = browser.evaluate(session, "(({loadEventStart, nextHopProtocol}) => "
                                            "({loadEventStart, nextHopProtocol}))("
                                            "performance.getEntriesByType('navigation')[0])")
            modules = browser.evaluate(session, "performance.getEntriesByType('resource')"
                                                ".filter(e => e.name.includes('/m/'))"
                                                ".map(e => e.nextHopProtocol)")
            browser.dispose(context)
            loads.append({"load_ms": nav["loadEventStart"], "page": nav["nextHopProtocol"],
                          "modules": modules})
    return loads


def access_lines(run, pattern):
    return [line for line in run.output().splitlines() if re.search(pattern, line)]


def test_a_page_of_300_modules_loads_over_h2_through_rp(proxied, rp_env, project, tmp_path):
    p = proxied(MODULES)
    home = trusting_home(project, rp_env, tmp_path)
    url = f"https://{p.project.app}.test:{rp_env['RP_HTTPS_PORT']}/"
    module_line = r"^http\s+\| GET /m/\d+\.js 200 .* web\.1"

    h2 = module_page_loads(home, url, tmp_path, "h2")
    for load in h2:
        assert load["page"] == "h2"
        assert load["modules"] == ["h2"] * 300
    # rp says so too: every module request of the three loads came as an h2 stream.
    p.run.wait_for(module_line + " h2$", count=900)
    assert len(access_lines(p.run, module_line)) == 900

    # The same with HTTP/2 off in the browser: HTTP/1.1 over TLS.
    h1 = module_page_loads(home, url, tmp_path, "h1", "--disable-http2")
    for load in h1:
        assert load["page"] == "http/1.1"
        assert load["modules"] == ["http/1.1"] * 300
    p.run.wait_for(module_line + " https$", count=900)
    assert len(access_lines(p.run, module_line + " h2$")) == 900

    # Measured, never asserted: the machine is shared.
    print(f"\n300 ES modules through rp, load event (best of 3, each in a fresh browser "
          f"context): h2 {min(l['load_ms'] for l in h2):.0f} ms, HTTP/1.1 "
          f"{min(l['load_ms'] for l in h1):.0f} ms; all runs h2 "
          f"{[round(l['load_ms']) for l in h2]}, HTTP/1.1 {[round(l['load_ms']) for l in h1]}")


def test_a_websocket_from_a_page_over_h2_is_an_extended_connect(proxied, rp_env, project,
                                                                 tmp_path):
    p = proxied(MODULES)
    home = trusting_home(project, rp_env, tmp_path)
    url = f"https://{p.project.app}.test:{rp_env['RP_HTTPS_PORT']}/ws-page"
    with Browser(home, tmp_path / "profile-ws", tmp_path / "chromium-ws.log") as browser:
        session, _ = browser.open(url)
        assert browser.evaluate(
            session, "performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
        closed = browser.wait_js(session, "document.getElementById('closed').textContent",
                                 timeout=30)
        page = browser.evaluate(session, "[...document.querySelectorAll('div')]"
                                         ".map(d => d.id + '=' + d.textContent)")
    assert closed == "1000", page
    assert "echo=hello over h2" in page and "error=" in page, page
    # The WebSocket was an extended CONNECT over h2, answered 200 for the app's 101, and logged
    # once the tunnel ended. (Chromium sends a WebSocket over h2 only on an h2 connection it
    # already has that allows extended CONNECT: here, the page's.)
    p.run.wait_for(r"^http\s+\| GET /ws-page 200 .* web\.1 h2$")
    p.run.wait_for(r"^http\s+\| CONNECT /ws 200 .* web\.1 h2$")
