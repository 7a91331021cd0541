// The dashboard's rules: which browser requests reach the API, and the headers every answer to a
// browser carries. tests/e2e/test_dashboard.py sends the same requests through rp's proxy.
#include <catch2/catch.hpp>

#include "cmd/daemon/dashboard_files.hpp"
#include "cmd/daemon/dashboard_gate.hpp"
#include "proxy/random_hex.hpp"

using namespace rp::cmd;

namespace {

const std::vector<std::string> kTlds{"test", "localhost"};
const std::string kToken(64, 'a');

Request get(std::string path, std::string host = "rp.test:7780") {
  Request r;
  r.browser = true;
  r.method = "GET";
  r.path = std::move(path);
  r.host = std::move(host);
  return r;
}

Request restart(std::string origin = "http://rp.test:7780", std::string token = kToken) {
  Request r = get("/v1/apps/shop/restart");
  r.method = "POST";
  r.origin = std::move(origin);
  r.token = std::move(token);
  r.content_type = "application/json";
  return r;
}

int status_of(const Request& r) {
  return check_browser_request(r, kTlds, kToken).status;
}

}  // namespace

TEST_CASE("dashboard gate: only rp.<tld> is answered", "[dashboard]") {
  CHECK(status_of(get("/")) == 0);
  CHECK(status_of(get("/", "rp.test")) == 0);
  CHECK(status_of(get("/", "RP.TEST.")) == 0);
  CHECK(status_of(get("/", "rp.localhost:7780")) == 0);
  // A DNS-rebinding page arrives with its own name; so does a name that merely contains rp's.
  for (std::string host :
       {"evil.example", "rp.test.evil.example", "xrp.test", "shop.test", "127.0.0.1:7780",
        "rp.example", "", "rp.test:7780.evil.example", "rp.test:7780:1"}) {
    CAPTURE(host);
    CHECK(status_of(get("/v1/status", host)) == 403);
    Request r = restart();
    r.host = host;
    CHECK(status_of(r) == 403);
  }
}

TEST_CASE("dashboard gate: GETs read the page and the status, nothing else", "[dashboard]") {
  for (std::string path : {"/", "/index.html", "/dashboard.js", "/dashboard.css", "/v1/status",
                           "/v1/events", "/v1/logs"}) {
    CAPTURE(path);
    CHECK(status_of(get(path)) == 0);
  }
  CHECK(status_of(get("/v1/daemon/stop")) == 404);
  CHECK(status_of(get("/etc/passwd")) == 404);
  CHECK(status_of(get("/v1/apps/shop/restart")) == 404);  // no GET changes state
}

TEST_CASE("dashboard gate: a change needs the page's Origin, the token and JSON", "[dashboard]") {
  CHECK(status_of(restart()) == 0);
  CHECK(status_of(restart("https://rp.test:7780")) == 0);  // the page over HTTPS
  for (std::string action : {"start", "stop"}) {
    Request r = restart();
    r.path = "/v1/apps/shop/" + action;
    CHECK(status_of(r) == 0);
  }
  // CSRF: another site's form or fetch.
  CHECK(status_of(restart("http://evil.example")) == 403);
  CHECK(status_of(restart("")) == 403);
  CHECK(status_of(restart("null")) == 403);
  CHECK(status_of(restart("http://rp.test")) == 403);  // another port is another origin
  CHECK(status_of(restart("http://rp.test:7780.evil.example")) == 403);
  // The token.
  CHECK(status_of(restart("http://rp.test:7780", "")) == 403);
  CHECK(status_of(restart("http://rp.test:7780", std::string(64, 'b'))) == 403);
  CHECK(status_of(restart("http://rp.test:7780", kToken + "a")) == 403);
  // A form post's body type.
  Request form = restart();
  form.content_type = "application/x-www-form-urlencoded";
  CHECK(status_of(form) == 403);
}

TEST_CASE("dashboard gate: what the page may not do at all", "[dashboard]") {
  for (std::string path : {"/v1/up", "/v1/links", "/v1/daemon/stop", "/v1/apps/shop/down",
                           "/v1/apps/shop/kill", "/v1/apps/shop"}) {
    Request r = restart();
    r.path = path;
    CAPTURE(path);
    CHECK(status_of(r) == 403);
  }
  for (std::string method : {"PUT", "DELETE", "PATCH"}) {
    Request r = restart();
    r.method = method;
    CHECK(status_of(r) == 403);
  }
  Request preflight = restart();
  preflight.method = "OPTIONS";
  CHECK(status_of(preflight) == 405);
}

TEST_CASE("dashboard: answers carry a strict CSP and no CORS", "[dashboard]") {
  const std::string answer = for_browsers(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  const auto head = answer.substr(0, answer.find("\r\n\r\n"));
  CHECK(head.find("Content-Security-Policy: default-src 'none'; script-src 'self'") !=
        std::string::npos);
  CHECK(head.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(head.find("X-Content-Type-Options: nosniff") != std::string::npos);
  CHECK(head.find("Cache-Control: no-store") != std::string::npos);
  CHECK(head.find("Access-Control") == std::string::npos);
  CHECK(answer.ends_with("\r\n\r\n{}"));
}

TEST_CASE("dashboard: the page's files are built in, with a slot for the token", "[dashboard]") {
  const PageFile* page = dashboard_file("/");
  REQUIRE(page);
  CHECK(page->content_type.starts_with("text/html"));
  CHECK(page->body.find("{{token}}") != std::string_view::npos);
  REQUIRE(dashboard_file("/dashboard.js"));
  CHECK(dashboard_file("/dashboard.js")->content_type.starts_with("text/javascript"));
  CHECK_FALSE(dashboard_file("/missing.js"));
  CHECK(rp::proxy::random_hex(32).size() == 64);
  CHECK(rp::proxy::random_hex(32) != rp::proxy::random_hex(32));
}
