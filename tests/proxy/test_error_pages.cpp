#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "proxy/error_pages.hpp"
#include "proxy/router.hpp"
#include "supervisor/app/app_status.hpp"

using Catch::Matchers::Contains;
using rp::AppStatus;
using rp::InstanceState;
using rp::InstanceStatus;
using rp::LogRing;
using rp::proxy::not_found_page;
using rp::proxy::plain_error_page;
using rp::proxy::RouteTable;
using rp::proxy::upstream_error_page;
using rp::proxy::wants_html;

namespace {

std::shared_ptr<InstanceStatus> instance(const std::string& process, int n, int port,
                                         InstanceState state) {
  auto i = std::make_shared<InstanceStatus>();
  i->process = process;
  i->label = process + "." + std::to_string(n);
  i->port = port;
  i->state.store(state);
  return i;
}

std::shared_ptr<const AppStatus> app(const std::string& name,
                                     std::vector<std::shared_ptr<InstanceStatus>> instances = {}) {
  auto a = std::make_shared<AppStatus>();
  a->name = name;
  a->web = "web";
  a->instances = std::move(instances);
  return a;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("error pages: wants_html", "[error_pages]") {
  // Browsers' navigations (Chromium's, Firefox's, Safari's).
  CHECK(
      wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                 "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"));
  CHECK(wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  CHECK(wants_html("text/html"));
  CHECK(wants_html("TEXT/HTML ; q=1.0"));
  CHECK(wants_html("application/json, text/html"));       // as much as anything else: a page
  CHECK(wants_html("text/html;level=1;q=0.9, */*;q=1"));  // a wildcard prefers nothing
  CHECK(wants_html("text/html;q=0.9,"));                  // empty elements count for nothing
  CHECK(wants_html(" , text/html;q=0.5,,"));
  // HTML as a fallback, or not at all.
  CHECK_FALSE(wants_html("application/json, text/html;q=0.5"));
  CHECK_FALSE(wants_html("application/json;q=0.9, text/html;q=0.1"));
  CHECK_FALSE(wants_html("text/html;q=0"));
  CHECK_FALSE(wants_html("text/html;q=0.000"));
  CHECK_FALSE(wants_html("text/html;q=x"));
  CHECK_FALSE(wants_html("text/html;q=0x5"));  // not a number: nothing
  CHECK_FALSE(wants_html("application/json, text/html;q=1x0"));
  CHECK_FALSE(wants_html("*/*"));
  CHECK_FALSE(wants_html("application/json"));
  CHECK_FALSE(wants_html("text/plain"));
  CHECK_FALSE(wants_html(""));
  CHECK_FALSE(wants_html(",,;;q=,"));
}

TEST_CASE("error pages: not found, text", "[error_pages]") {
  RouteTable routes({"test", "localhost"}, {app("shop"), app("blog")});
  SECTION("port 80 is left out of the URLs") {
    auto page = not_found_page(routes, "nosuch.test", 80, false);
    CHECK_THAT(page.content_type, Contains("text/plain"));
    CHECK_THAT(page.body, Contains("nosuch.test"));
    CHECK_THAT(page.body, Contains("  shop  http://shop.test/\n"));
    CHECK_THAT(page.body, Contains("  blog  http://blog.test/\n"));
    CHECK_FALSE(contains(page.body, ":80"));
    CHECK_FALSE(contains(page.body, "<"));
    // In the order the table has them.
    CHECK(page.body.find("shop") < page.body.find("blog"));
  }
  SECTION("another port is in the URLs") {
    auto page = not_found_page(routes, "nosuch.test", 8080, false);
    CHECK_THAT(page.body, Contains("http://shop.test:8080/"));
    CHECK_THAT(page.body, Contains("http://blog.test:8080/"));
  }
}

TEST_CASE("error pages: not found lists names under the TLD the request came by", "[error_pages]") {
  RouteTable routes({"test", "localhost"}, {app("shop")});
  CHECK_THAT(not_found_page(routes, "nosuch.localhost", 7780, false).body,
             Contains("  shop  http://shop.localhost:7780/\n"));
  CHECK_THAT(not_found_page(routes, "rp.localhost", 7780, true).body,
             Contains("href=\"http://shop.localhost:7780/\""));
  CHECK_THAT(not_found_page(routes, "localhost", 80, false).body,
             Contains("http://shop.localhost/"));
  // Not a TLD of rp's, nor a whole label of one: the first TLD.
  CHECK_THAT(not_found_page(routes, "127.0.0.1", 80, false).body, Contains("http://shop.test/"));
  CHECK_THAT(not_found_page(routes, "x.notlocalhost", 80, false).body,
             Contains("http://shop.test/"));
}

TEST_CASE("error pages: not found with no apps", "[error_pages]") {
  RouteTable routes({"test"}, {});
  auto text = not_found_page(routes, "x.test", 80, false);
  CHECK_THAT(text.body, Contains("rp up"));
  CHECK_FALSE(contains(text.body, "http://"));
  auto html = not_found_page(routes, "x.test", 80, true);
  CHECK_THAT(html.body, Contains("rp up"));
  CHECK_FALSE(contains(html.body, "<li>"));
}

TEST_CASE("error pages: not found, HTML", "[error_pages]") {
  RouteTable routes({"test"}, {app("shop"), app("a<b>&\"c\"")});
  auto page = not_found_page(routes, "<script>alert(1)</script>.test", 8080, true);
  CHECK_THAT(page.content_type, Contains("text/html"));
  CHECK_THAT(page.body, Contains("<!doctype html>"));
  CHECK_THAT(page.body, Contains("href=\"http://shop.test:8080/\""));
  CHECK_THAT(page.body, Contains(">shop</a>"));
  // Names are escaped, wherever they appear.
  CHECK_THAT(page.body, Contains("&lt;script&gt;alert(1)&lt;/script&gt;.test"));
  CHECK_FALSE(contains(page.body, "<script>"));
  CHECK_THAT(page.body, Contains("a&lt;b&gt;&amp;&quot;c&quot;"));
  CHECK_FALSE(contains(page.body, "a<b>"));

  auto on_80 = not_found_page(routes, "x.test", 80, true);
  CHECK_THAT(on_80.body, Contains("href=\"http://shop.test/\""));
  // And the dashboard, under the same TLD and port.
  CHECK_THAT(page.body, Contains("<a href=\"http://rp.test:8080/\">"));
}

TEST_CASE("error pages: upstream error, text", "[error_pages]") {
  auto web1 = instance("web", 1, 5000, InstanceState::crashed);
  auto web2 = instance("web", 2, 5001, InstanceState::backing_off);
  auto worker = instance("worker", 1, 5100, InstanceState::running);
  for (int i = 1; i <= 30; ++i) web1->log.push("one line " + std::to_string(i));
  for (int i = 1; i <= 3; ++i) web2->log.push("two line " + std::to_string(i));
  worker->log.push("worker output");
  auto shop = app("shop", {web1, web2, worker});

  auto page = upstream_error_page(502, *shop, "web", "connection refused", false);
  CHECK_THAT(page.content_type, Contains("text/plain"));
  const std::string& b = page.body;
  CHECK_THAT(b, Contains("502"));
  CHECK_THAT(b, Contains("Bad Gateway"));
  CHECK_THAT(b, Contains("shop"));
  CHECK_THAT(b, Contains("connection refused"));
  CHECK_THAT(b, Contains("web.1 crashed (port 5000)"));
  CHECK_THAT(b, Contains("web.2 restarting (port 5001)"));
  // Only the process asked about.
  CHECK_FALSE(contains(b, "worker"));
  CHECK_FALSE(contains(b, "5100"));
  // The last 20 lines of each instance, in order.
  for (int i = 11; i <= 30; ++i) {
    INFO(i);
    CHECK_THAT(b, Contains("web.1 | one line " + std::to_string(i) + "\n"));
  }
  for (int i = 1; i <= 10; ++i) {
    INFO(i);
    CHECK_FALSE(contains(b, "one line " + std::to_string(i) + "\n"));
  }
  CHECK(b.find("one line 11\n") < b.find("one line 30\n"));
  CHECK_THAT(b, Contains("web.2 | two line 1\n"));
  CHECK_THAT(b, Contains("web.2 | two line 3\n"));
}

TEST_CASE("error pages: upstream error, HTML", "[error_pages]") {
  auto web1 = instance("web", 1, 5000, InstanceState::running);
  for (int i = 1; i <= 30; ++i) web1->log.push("<line " + std::to_string(i) + "> & \"q\"");
  auto shop = app("shop", {web1});

  auto page = upstream_error_page(504, *shop, "web", "no answer in 30 s <timeout>", true);
  CHECK_THAT(page.content_type, Contains("text/html"));
  const std::string& b = page.body;
  CHECK_THAT(b, Contains("504"));
  CHECK_THAT(b, Contains("Gateway Timeout"));
  CHECK_THAT(b, Contains("shop"));
  CHECK_THAT(b, Contains("web.1 running (port 5000)"));
  CHECK_THAT(b, Contains("no answer in 30 s &lt;timeout&gt;"));
  for (int i = 11; i <= 30; ++i) {
    INFO(i);
    CHECK_THAT(b, Contains("web.1 | &lt;line " + std::to_string(i) + "&gt; &amp; &quot;q&quot;"));
  }
  for (int i = 1; i <= 10; ++i) {
    INFO(i);
    CHECK_FALSE(contains(b, "&lt;line " + std::to_string(i) + "&gt;"));
  }
  CHECK_FALSE(contains(b, "<line"));
  CHECK_FALSE(contains(b, "<timeout>"));
}

TEST_CASE("error pages: an upstream error links to the app's logs in the dashboard",
          "[error_pages]") {
  auto shop =
      std::make_shared<AppStatus>(*app("shop", {instance("web", 1, 5000, InstanceState::crashed)}));
  CHECK_FALSE(contains(upstream_error_page(502, *shop, "web", "x", true).body, "dashboard"));
  shop->logs_url = "http://rp.test:7780/#logs=shop";
  CHECK_THAT(upstream_error_page(502, *shop, "web", "x", true).body,
             Contains("<a href=\"http://rp.test:7780/#logs=shop\">the dashboard</a>"));
}

TEST_CASE("error pages: upstream error with no output", "[error_pages]") {
  auto shop = app("shop", {instance("web", 1, 5000, InstanceState::starting)});
  auto page = upstream_error_page(502, *shop, "web", "refused", false);
  CHECK_THAT(page.body, Contains("web.1 starting (port 5000)"));
  CHECK_THAT(page.body, Contains("(no output yet)"));
}

TEST_CASE("error pages: plain_error_page", "[error_pages]") {
  auto text = plain_error_page(400, "the request is not <valid>", false);
  CHECK_THAT(text.content_type, Contains("text/plain"));
  CHECK(text.body == "rp: 400 Bad Request: the request is not <valid>\n");

  auto html = plain_error_page(508, "a loop & more", true);
  CHECK_THAT(html.content_type, Contains("text/html"));
  CHECK_THAT(html.body, Contains("508 Loop Detected"));
  CHECK_THAT(html.body, Contains("<p>a loop &amp; more</p>"));

  auto big = plain_error_page(431, "<x>", true);
  CHECK_THAT(big.body, Contains("431 Request Header Fields Too Large"));
  CHECK_THAT(big.body, Contains("&lt;x&gt;"));
  CHECK_FALSE(contains(big.body, "<x>"));
}

// --- supervisor/app_status ------------------------------------------------------------------

TEST_CASE("app status: LogRing keeps the last lines", "[app_status]") {
  LogRing ring(3);
  CHECK(ring.tail(5).empty());
  ring.push("a");
  ring.push("b");
  CHECK(ring.tail(5) == std::vector<std::string>{"a", "b"});
  ring.push("c");
  ring.push("d");
  ring.push("e");
  CHECK(ring.tail(10) == std::vector<std::string>{"c", "d", "e"});
  CHECK(ring.tail(3) == std::vector<std::string>{"c", "d", "e"});
  CHECK(ring.tail(2) == std::vector<std::string>{"d", "e"});
  CHECK(ring.tail(1) == std::vector<std::string>{"e"});
  CHECK(ring.tail(0).empty());

  LogRing big;  // the default capacity is 1000
  for (int i = 0; i < 1005; ++i) big.push(std::to_string(i));
  auto all = big.tail(5000);
  REQUIRE(all.size() == 1000);
  CHECK(all.front() == "5");
  CHECK(all.back() == "1004");
}

TEST_CASE("app status: AppStatus::of and state names", "[app_status]") {
  AppStatus a;
  a.instances = {instance("web", 1, 1, InstanceState::running),
                 instance("worker", 1, 2, InstanceState::running),
                 instance("web", 2, 3, InstanceState::running)};
  auto web = a.of("web");
  REQUIRE(web.size() == 2);
  CHECK(web[0]->label == "web.1");
  CHECK(web[1]->label == "web.2");
  CHECK(a.of("worker").size() == 1);
  CHECK(a.of("nope").empty());
  CHECK(rp::to_string(InstanceState::starting) == "starting");
  CHECK(rp::to_string(InstanceState::running) == "running");
  CHECK(rp::to_string(InstanceState::backing_off) == "restarting");
  CHECK(rp::to_string(InstanceState::crashed) == "crashed");
  CHECK(rp::to_string(InstanceState::stopped) == "stopped");
}
