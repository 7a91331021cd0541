"""The proxy's routing: names, subdomains, aliases, Host normalisation, every TLD, the 404 list,
and load sharing between instances."""

import collections
import http.client
import json
import pathlib

from conftest import free_port, run_rp, stop_daemon, wait_until

ORIGIN = "web: exec $PY $APPS/origin.py\napi: exec $PY $APPS/origin.py\n"


def who(p, host, path="/"):
    status, _, body = p.request("GET", path, host=host)
    assert status == 200, (host, status, body)
    return json.loads(body)["process"]


def test_names_subdomains_aliases_and_tlds(proxied, project):
    p = proxied(ORIGIN, ready=r"api\.1 \| origin listening", rp_yaml="aliases: [shop-admin]\n")
    p.run.wait_for(r"web\.1 \| origin listening")
    app = project.app
    assert who(p, f"{app}.test") == "web.1"
    assert who(p, f"{app}.localhost") == "web.1"                 # every configured TLD
    assert who(p, f"api.{app}.test") == "api.1"                  # <proc>.<app>.<tld>
    assert who(p, f"assets.{app}.test") == "web.1"               # wildcard subdomain -> web
    assert who(p, f"a.b.{app}.test") == "web.1"
    assert who(p, "shop-admin.test") == "web.1"                  # alias
    assert who(p, f"api.shop-admin.test") == "api.1"
    assert who(p, f"{app.upper()}.TEST:{p.port}") == "web.1"     # case, port
    assert who(p, f"{app}.test.") == "web.1"                     # trailing dot


def test_an_alias_may_not_take_another_apps_name_or_route(tmp_path, rp_env):
    """An alias routes like a name, so it is checked like one: against the other apps' names and
    aliases, the static routes and rp's own; `rp up`, `rp link`, `rp route` and a changed rp.yaml
    are refused with what holds it rather than letting the first app in the table win."""
    def project(name, rp_yaml=None):
        d = tmp_path / name
        d.mkdir()
        (d / "Procfile").write_text("web: sleep 100\n")
        if rp_yaml:
            (d / "rp.yaml").write_text(rp_yaml)
        return d

    def rp(*args, cwd=tmp_path):
        code, out, err = run_rp(list(args), cwd, rp_env)
        return code, out + err

    shop, blog = project("shop", "aliases: [shop-admin]\n"), project("blog")
    code, out, err = run_rp(["link", "--json"], shop, rp_env)
    assert code == 0, err
    assert json.loads(out)["app"] == "shop" and json.loads(out)["url"].startswith("http://shop.")
    assert rp("link", cwd=blog)[0] == 0
    # An alias that is another app's name, or an app's name that is another app's alias.
    greedy = project("greedy", "aliases: [blog]\n")
    code, out = rp("link", cwd=greedy)
    assert code != 0
    assert f"the alias blog in rp.yaml is the name of the app in {blog}" in out, out
    admin = project("admin", "name: shop-admin\n")
    code, out = rp("link", cwd=admin)
    assert code != 0 and f"the name shop-admin is an alias of shop ({shop})" in out, out
    code, out = rp("up", "-d", cwd=admin)
    assert code != 0 and "is an alias of shop" in out, out
    # Another app's alias, a static route, rp's own.
    code, out = rp("link", cwd=project("copycat", "aliases: [shop-admin]\n"))
    assert code != 0 and f"the alias shop-admin in rp.yaml is an alias of shop ({shop})" in out
    assert rp("route", "legacy", "3999")[0] == 0
    code, out = rp("link", cwd=project("newer", "aliases: [legacy]\n"))
    assert code != 0 and "the alias legacy in rp.yaml is a static route" in out, out
    code, out = rp("link", cwd=project("bold", "aliases: [rp]\n"))
    assert code != 0 and "the alias rp in rp.yaml is rp's own" in out, out
    code, out = rp("route", "shop-admin", "3998")
    assert code != 0 and "shop-admin is an alias of the app shop" in out, out
    # An alias added to a linked app's rp.yaml later: its old definition stays.
    (blog / "rp.yaml").write_text("aliases: [shop-admin]\n")
    def said():
        return rp("logs", "blog")[1]
    assert wait_until(lambda: "the alias shop-admin in rp.yaml is an alias of shop" in said(),
                      timeout=15), said()
    assert "the previous definition runs on" in said()
    # Edited while no daemon runs: at its start nobody can be refused, and nobody can tell who
    # had the alias first: it routes to neither, and the daemon's log says so.
    home = pathlib.Path(rp_env["RP_HOME"])
    stop_daemon(home)
    assert rp("ls")[0] == 0  # starts the daemon again
    log = (home / "logs" / "daemon.log").read_text()
    for app in ("shop", "blog"):
        assert (f"{app}'s alias shop-admin is claimed by another project's rp.yaml too: it is not "
                "routed") in log, log
    conn = http.client.HTTPConnection("127.0.0.1", int(rp_env["RP_HTTP_PORT"]), timeout=10)
    conn.request("GET", "/", headers={"Host": "shop-admin.test"})
    assert conn.getresponse().status == 404
    conn.close()


def test_unknown_name_lists_known_apps(proxied, project):
    p = proxied(ORIGIN, ready=r"web\.1 \| origin listening")
    status, headers, body = p.request("GET", "/", host="nope.test")
    assert status == 404
    assert headers["content-type"].startswith("text/plain")
    text = body.decode()
    assert "no app is named 'nope.test'" in text
    assert f"{project.app}  http://{project.app}.test:{p.port}/" in text

    status, headers, body = p.request("GET", "/", host="nope.test",
                                      headers={"Accept": "text/html,*/*"})
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert f'<a href="http://{project.app}.test:{p.port}/">{project.app}</a>' in body.decode()

    # Names outside the TLDs, and the bare TLD, are unknown too.
    assert p.request("GET", "/", host="localhost")[0] == 404
    assert p.request("GET", "/", host="test")[0] == 404


def test_instances_share_the_load(proxied):
    p = proxied("web: exec $PY $APPS/origin.py\n", ready=None, args=("-m", "web=3"))
    for n in (1, 2, 3):
        p.run.wait_for(rf"web\.{n} \| origin listening")
    counts = collections.Counter(who(p, f"{p.project.app}.test") for _ in range(30))
    assert set(counts) == {"web.1", "web.2", "web.3"}
    assert min(counts.values()) >= 5  # round-robin among equally idle instances


def test_access_line_per_request(proxied, project):
    p = proxied(ORIGIN, ready=r"web\.1 \| origin listening")
    p.request("GET", "/some/path?x=1")
    p.run.wait_for(r"^http\s+\| GET /some/path\?x=1 200 \d+ B [\d.]+ ms web\.1$")


def doctor_http(p, rp_env, tmp_path):
    """rp doctor's HTTP check, as JSON, against rp's port."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/resolv.conf").write_text("nameserver 127.0.0.1\n")
    code, out, err = run_rp(["doctor", "--json", "--root", str(root)], p.project.path, rp_env)
    return next(c for c in json.loads(out)["checks"] if c["name"] == "http")


def test_doctor_recognises_rp_on_the_http_port(proxied, rp_env, tmp_path):
    p = proxied(ORIGIN, ready=r"web\.1 \| origin listening")
    check = doctor_http(p, rp_env, tmp_path)
    assert check["ok"], check
    assert "answers HTTP (HTTP/1.1 404 Not Found, rp)" in check["detail"]


def test_doctor_probes_the_ports_the_running_daemon_has(proxied, rp_env, tmp_path):
    # As after `sudo rp setup --apply`, or under sudo: a daemon started now would take another
    # port than the one the running daemon has. Doctor asks the daemon.
    p = proxied(ORIGIN, ready=r"web\.1 \| origin listening")
    elsewhere = dict(rp_env, RP_HTTP_PORT=str(free_port()), RP_HTTPS_PORT=str(free_port()))
    check = doctor_http(p, elsewhere, tmp_path)
    assert check["ok"], check
    assert f"127.0.0.1:{p.port} answers HTTP" in check["detail"]
    code, out, err = run_rp(["ls", "--json"], p.project.path, rp_env)
    daemon = json.loads(out)["daemon"]
    assert daemon["http_port"] == p.port
    assert daemon["https_port"] == int(rp_env["RP_HTTPS_PORT"])


def test_doctor_says_when_the_daemon_could_not_have_its_port(rp_env, tmp_path, project):
    import socket
    port = int(rp_env["RP_HTTP_PORT"])
    held = []
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((address, port))  # on both of rp's addresses: it cannot listen at all
        except OSError:
            if family == socket.AF_INET:
                raise
            continue  # no IPv6 here: rp cannot listen there either
        s.listen()
        held.append(s)
    try:
        code, out, err = run_rp(["daemon"], project.path, rp_env)
        assert code == 0, err
        project.write("Procfile", "web: sleep 1\n")
        check = doctor_http(type("P", (), {"project": project})(), rp_env, tmp_path)
        assert not check["ok"]
        assert "the daemon that runs has no HTTP listener" in check["detail"], check
        assert "rp daemon stop" in check["fix"]
    finally:
        for s in held:
            s.close()


def test_doctor_tells_another_server_from_rp(rp_env, tmp_path, project):
    import subprocess
    import sys
    port = int(rp_env["RP_HTTP_PORT"])
    other = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                              "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from conftest import wait_until
        assert wait_until(lambda: socket_open(port))
        project.write("Procfile", "web: sleep 1\n")
        check = doctor_http(type("P", (), {"project": project})(), rp_env, tmp_path)
        assert not check["ok"]
        assert "answers HTTP, but not as rp" in check["detail"]
        assert check["fix"]
    finally:
        other.kill()
        other.wait()


def socket_open(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
