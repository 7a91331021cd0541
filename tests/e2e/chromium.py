"""Headless Chromium (Debian's `chromium`) for the end-to-end tests, driven over the DevTools
protocol on a pipe with nothing but Python's standard library: no npm, no browser download."""

import fcntl
import json
import os
import select
import signal
import subprocess
import time

import pytest

from conftest import kill_pids, pids_with_env

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--host-resolver-rules=MAP *.test 127.0.0.1"]


def above_4(fd):
    """`fd` moved to a number above 4 (the old one closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5)
    os.close(fd)
    return moved


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
    JSON messages ended by a NUL byte, which the browser reads on its fd 3 and writes on its
    fd 4), with HOME=`home`. The browser and every process it starts share a new session,
    killed as a group by close(), as is any that left the group (Chromium's crashpad handlers
    start sessions of their own) yet has HOME=`home`; its output goes to `log`."""

    def __init__(self, home, profile, log, *flags):
        self.home = str(home)
        cmd_r, self._cmd_w = os.pipe()
        self._evt_r, evt_w = os.pipe()
        # The browser's ends go to fds 3 and 4 by bash's redirections (dash's take one digit
        # only): they must not be 3 or 4 already.
        cmd_r, evt_w = (above_4(fd) for fd in (cmd_r, evt_w))
        try:
            with open(log, "ab") as err:
                self.proc = subprocess.Popen(
                    ["/bin/bash", "-c",
                     f'exec chromium "$@" 3<&{cmd_r} 4>&{evt_w} {cmd_r}<&- {evt_w}>&-',
                     "chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                     "--remote-debugging-pipe", *flags],
                    env=dict(os.environ, HOME=str(home)), stdin=subprocess.DEVNULL,
                    stdout=err, stderr=err, pass_fds=(cmd_r, evt_w), start_new_session=True)
        except BaseException:
            os.close(self._cmd_w)
            os.close(self._evt_r)
            raise
        finally:
            os.close(cmd_r)
            os.close(evt_w)
        self._id = 0
        self._buffer = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self._send({"id": 0, "method": "Browser.close"})
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            kill_pids(pids_with_env("HOME", self.home))
            os.close(self._cmd_w)
            os.close(self._evt_r)

    def _send(self, message):
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._cmd_w, data):]

    def _receive(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            if select.select([self._evt_r], [], [], left)[0]:
                chunk = os.read(self._evt_r, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed its DevTools pipe")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method, params=None, session=None, timeout=30):
        """The result of one DevTools command (events that come meanwhile are dropped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._send(message)
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def evaluate(self, session, expression):
        """The value of a JavaScript expression in the page (None while there is no page to
        run it in, as in the middle of a navigation)."""
        try:
            result = self.call("Runtime.evaluate",
                               {"expression": expression, "returnByValue": True}, session)
        except RuntimeError:
            return None
        return None if "exceptionDetails" in result else result["result"].get("value")

    def wait_js(self, session, expression, timeout=60):
        """The expression's value once it is truthy; fails the test on timeout."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(session, expression)
            if value:
                return value
            time.sleep(0.05)
        body = self.evaluate(session, "document.body && document.body.innerText")
        pytest.fail(f"{expression} still {value!r} after {timeout}s; the page says: {body!r}")

    def open(self, url, timeout=60):
        """A tab in a new browser context (own connections, cache and TLS sessions) that has
        navigated to `url` and fired its load event: (session, context)."""
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call("Target.createTarget",
                           {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        nav = self.call("Page.navigate", {"url": url}, session, timeout)
        assert "errorText" not in nav, nav
        self.wait_js(session, f"location.href === {json.dumps(url)} && "
                              "document.readyState === 'complete'", timeout)
        return session, context

    def dispose(self, context):
        self.call("Target.disposeBrowserContext", {"browserContextId": context})
