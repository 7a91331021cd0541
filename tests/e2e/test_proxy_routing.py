"""The proxy's routing: names, subdomains, aliases, Host normalisation, every TLD, the 404 list,
and load sharing between instances."""

import collections
import json

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
