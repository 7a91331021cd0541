"""A real browser trusts rp's certificates once `rp trust --apply` has filled the NSS database of
its user: headless Chromium (Debian's `chromium`) with a scratch HOME opens an app over HTTPS
with no certificate error, and the same browser with an empty HOME refuses it. rp trust runs
with --root, so nothing of this machine or its real home is touched."""

import os
import pathlib
import signal
import subprocess

from conftest import run_rp

ORIGIN = "web: exec $PY $APPS/origin.py\n"


def dump_dom(home, url, tmp_path):
    """What headless Chromium, run with HOME=`home`, shows at `url` ('' for an error page). The
    browser and every process it starts share a new session, killed as a group afterwards."""
    profile = tmp_path / f"profile-{abs(hash(str(home)))}"
    proc = subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--host-resolver-rules=MAP *.test 127.0.0.1",
         "--dump-dom", url],
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


def test_chromium_trusts_an_app_after_rp_trust_apply(proxied, rp_env, project, tmp_path):
    p = proxied(ORIGIN)
    url = f"https://{p.project.app}.test:{rp_env['RP_HTTPS_PORT']}/h"
    root = tmp_path / "root"
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    home = root / "home/tester"
    home.mkdir(parents=True)
    code, out, err = run_rp(["trust", "--apply", "--root", str(root)], project.path,
                            dict(rp_env, HOME="/home/tester"))
    assert code == 0, out + err

    page = dump_dom(home, url, tmp_path)
    assert '"path": "/h"' in page, page[:2000]

    # The control: the same browser without rp's CA shows no page of the app.
    empty = tmp_path / "empty-home"
    empty.mkdir()
    assert '"path": "/h"' not in dump_dom(empty, url, tmp_path)
