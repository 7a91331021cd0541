"""Fixtures for end-to-end tests: the real `rp` binary, a scratch project directory and RP_HOME
per test, and a handle on a running `rp up` that reads its output and, whatever happens, leaves
no process behind (every pid it saw is killed at teardown)."""

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RP_BIN = os.environ.get("RP_BIN", str(ROOT / "build" / "rp"))


def process_alive(pid):
    """True unless the process is gone or a zombie (nobody may reap orphans here)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rfind(")") + 2]
    return state not in "ZX"


def pids_with_env(key, value):
    """Live processes whose environment has key=value."""
    marker = f"{key}={value}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if marker in env and process_alive(int(entry)):
            found.append(int(entry))
    return found


def free_port(kind=socket.SOCK_STREAM):
    """A port nothing listens on right now, on 127.0.0.1 and ::1."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6, kind) as s6:
                s6.bind(("::1", port))
        except OSError:
            continue
        return port


def free_dns_port():
    """A port free for UDP and TCP, on 127.0.0.1 and ::1 (rp's DNS listens on all four)."""
    while True:
        port = free_port(socket.SOCK_DGRAM)
        try:
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port


def recv_until(s, marker=None, data=b""):
    """Reads from socket `s` onto `data` until `marker` is in it (a close before fails the test),
    or, with no marker, until the connection closes."""
    while marker is None or marker not in data:
        chunk = s.recv(65536)
        if not chunk:
            assert marker is None, data
            return data
        data += chunk
    return data


def check_events_arrive_one_by_one(s, host, project):
    """GET /sse of tests/e2e/apps/origin.py on connection `s`: the app sends "two" only once the
    test has seen "one" (had rp held "one" back, this would never end)."""
    s.sendall(f"GET /sse HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = recv_until(s, b"data: one")
    (project.path / "next").touch()
    data = recv_until(s, b"data: two", data)
    assert b"text/event-stream" in data


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Project:
    """A scratch project directory; `app` is its unique name (it is also the directory name)."""

    def __init__(self, path):
        self.path = path
        self.app = path.name

    def write(self, name, text):
        p = self.path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def leftover_pids(self):
        return pids_with_env("RP_APP", self.app)


class RpProcess:
    """A running `rp` command whose stdout+stderr is collected line by line."""

    def __init__(self, args, cwd, env):
        self.proc = subprocess.Popen(
            [RP_BIN, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=15.0, count=1):
        """The first `count` matches of regex `pattern` in the output; fails the test on timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matches = [m for m in map(rx.search, self.lines) if m]
                if len(matches) >= count:
                    return matches[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {count}x /{pattern}/ in rp output after {timeout}s:\n"
                                + "\n".join(self.lines[-60:]))
                self._cond.wait(min(left, 0.1))

    def started_pids(self):
        """Pids from rp's own "started (pid N" events."""
        return [int(m.group(1)) for m in map(re.compile(r"started \(pid (\d+)").search,
                                             self.lines) if m]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30.0):
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


def rss_kib(pid):
    """The resident set of process `pid` (VmRSS), in KiB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def daemon_pid(home):
    """The pid of the daemon that holds RP_HOME's lock, if it is alive."""
    try:
        pid = int((home / "rp.lock").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) else None


def stop_daemon(home):
    """Stops the daemon of `home` by pid: SIGTERM (it stops its apps), then SIGKILL."""
    pid = daemon_pid(home)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: not process_alive(pid), timeout=10):
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not process_alive(pid), timeout=5)


@pytest.fixture
def rp_home(tmp_path):
    home = tmp_path / "rp-home"
    home.mkdir()
    yield home
    stop_daemon(home)


@pytest.fixture
def project(tmp_path, request):
    safe = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    path = tmp_path / f"p-{safe}-{os.getpid() % 1000}"
    path.mkdir()
    return Project(path)


@pytest.fixture
def rp_env(rp_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RP_")}
    # Own ports for every test: no two tests, and no test and a user's rp, ever meet.
    env.update({"RP_HOME": str(rp_home), "NO_COLOR": "1", "RP_HTTP_PORT": str(free_port()),
                "RP_HTTPS_PORT": str(free_port()), "RP_DNS_PORT": "0",
                # URLs as on a machine set up with `rp setup`; test_urls.py drops it to test the
                # resolver check itself.
                "RP_URL_TLD": "test"})
    return env


@pytest.fixture
def rp(project, rp_env):
    """Starts rp commands in the project; at teardown kills whatever they left, by pid."""
    started = []

    def start(*args, cwd=None, env=None):
        p = RpProcess(list(args), cwd or project.path, env or rp_env)
        started.append(p)
        return p

    yield start

    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()
    pids = set(project.leftover_pids())
    for p in started:
        pids.update(p.started_pids())
    kill_pids(pids)


def kill_pids(pids):
    """SIGKILL to each pid that is still alive."""
    for pid in pids:
        if process_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def snapshot(root, opaque=()):
    """Every path under root with its kind and content (a symlink: its target); a file whose name
    is in `opaque` by its kind alone (a program rewrites it in place, as certutil its databases)."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                tree[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                tree[rel] = ("dir", None)
            elif name in opaque:
                tree[rel] = ("opaque", None)
            else:
                with open(p) as f:
                    tree[rel] = ("file", f.read())
    return tree


def run_rp(args, cwd, env, timeout=30, input=None):
    """Runs an rp command to completion: (exit code, stdout, stderr)."""
    r = subprocess.run([RP_BIN, *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout, input=input)
    return r.returncode, r.stdout, r.stderr


# A Procfile command that prints its environment as one JSON line and then waits to be stopped.
DUMP_ENV = (
    "python3 -c 'import json,os; print(\"ENV \"+json.dumps(dict(os.environ)), flush=True)'"
    " && exec sleep 600"
)


def env_of(run, label):
    """The environment DUMP_ENV printed as process `label` of `rp up` run `run`, as a dict."""
    import json as _json
    m = run.wait_for(rf"^{re.escape(label)}\s+\| ENV (.*)$")
    return _json.loads(m.group(1))


def run_env(project, env):
    """The environment `rp run` gives a command, as a dict."""
    code, out, err = run_rp(["run", "env", "-0"], project.path, env)
    assert code == 0, err
    return dict(item.split("=", 1) for item in out.split("\0") if item)


APPS = pathlib.Path(__file__).resolve().parent / "apps"


class Proxied:
    """rp up running test apps behind its proxy: `port` is rp's HTTP port."""

    def __init__(self, run, port, project):
        self.run = run
        self.port = port
        self.project = project

    def request(self, method, path, host=None, headers=None, body=None):
        """(status, headers dict lower-cased, body bytes) over a fresh connection."""
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body,
                         headers={"Host": host or f"{self.project.app}.test", **(headers or {})})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw(self, data, until=None, timeout=10):
        """Sends raw bytes on a new connection; returns what came back until close or `until`."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            out = b""
            while until is None or until not in out:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
            return out


@pytest.fixture
def proxied(project, rp, rp_env):
    """Starts `rp up` with the given Procfile, in which $APPS is tests/e2e/apps and $PY this
    Python (Debian's, which has the packages the apps import), and waits for `ready`."""

    def start(procfile, ready="listening", rp_yaml=None, config=None, env=None, args=()):
        project.write("Procfile",
                      procfile.replace("$APPS", str(APPS)).replace("$PY", sys.executable))
        if rp_yaml:
            project.write("rp.yaml", rp_yaml)
        if config:
            (pathlib.Path(rp_env["RP_HOME"]) / "config.yaml").write_text(config)
        full_env = dict(rp_env, ORIGIN_LOG=str(project.path / "origin.log"),
                        ORIGIN_STATE=str(project.path), **(env or {}))
        run = rp("up", *args, env=full_env)
        if ready:
            run.wait_for(ready)
        return Proxied(run, int(rp_env["RP_HTTP_PORT"]), project)

    return start


def api_raw(home, data, timeout=10):
    """Raw bytes to the daemon's control socket RP_HOME/rp.sock: (status, body text)."""
    # A socket path may be at most 107 bytes; pytest's are longer: go through the directory.
    dir_fd = os.open(home, os.O_PATH)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(f"/proc/self/fd/{dir_fd}/rp.sock")
        finally:
            os.close(dir_fd)
        s.sendall(data)
        out = recv_until(s)
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), payload.decode()


def api(home, method, path, body=None, timeout=10):
    """One call to the daemon's control API: (status, parsed JSON or text)."""
    import json as _json
    data = b"" if body is None else _json.dumps(body).encode()
    status, text = api_raw(home, f"{method} {path} HTTP/1.1\r\nHost: rp\r\n"
                                 f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
                                 .encode() + data, timeout)
    try:
        return status, _json.loads(text)
    except ValueError:
        return status, text


@pytest.fixture
def rpc(project, rp_env):
    """Runs an rp command to completion in the project: rpc("ls", "--json") -> (code, out, err).
    Keyword cwd= and env= override the project's directory and environment."""

    def call(*args, cwd=None, env=None, timeout=30):
        return run_rp(list(args), cwd or project.path, env or rp_env, timeout=timeout)

    return call


def app_status(home, name):
    """The app's entry in /v1/status, or None."""
    status, body = api(home, "GET", "/v1/status")
    assert status == 200
    for a in body["apps"]:
        if a["name"] == name:
            return a
    return None
