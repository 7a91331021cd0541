#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "proxy/router.hpp"
#include "supervisor/app/app_status.hpp"

using rp::AppStatus;
using rp::InstanceStatus;
using rp::proxy::normalise_host;
using rp::proxy::Route;
using rp::proxy::RouteTable;

namespace {

std::shared_ptr<InstanceStatus> instance(const std::string& process, int n, int port) {
  auto i = std::make_shared<InstanceStatus>();
  i->process = process;
  i->label = process + "." + std::to_string(n);
  i->port = port;
  return i;
}

std::shared_ptr<const AppStatus> app(const std::string& name, std::vector<std::string> aliases,
                                     const std::string& web,
                                     std::vector<std::shared_ptr<InstanceStatus>> instances) {
  auto a = std::make_shared<AppStatus>();
  a->name = name;
  a->aliases = std::move(aliases);
  a->web = web;
  a->instances = std::move(instances);
  return a;
}

// shop: web (two instances), api, worker; blog: its web process is called "app".
RouteTable table(std::vector<std::string> tlds = {"test"}) {
  auto shop = app("shop", {"store", "boutique"}, "web",
                  {instance("web", 1, 5000), instance("web", 2, 5001), instance("api", 1, 5100),
                   instance("worker", 1, 5200)});
  auto blog = app("blog", {}, "app", {instance("app", 1, 6000)});
  return RouteTable(std::move(tlds), {shop, blog});
}

void check_app(const Route& r, const std::string& app_name, const std::string& process) {
  REQUIRE(r.kind == Route::Kind::app);
  REQUIRE(r.app != nullptr);
  CHECK(r.app->name == app_name);
  CHECK(r.process == process);
}

void check_not_found(const Route& r) {
  CHECK(r.kind == Route::Kind::not_found);
  CHECK(r.app == nullptr);
  CHECK(r.process.empty());
}

}  // namespace

TEST_CASE("router: normalise_host", "[router]") {
  CHECK(normalise_host("shop.test") == "shop.test");
  CHECK(normalise_host("shop.test:8080") == "shop.test");
  CHECK(normalise_host("shop.test:80") == "shop.test");
  CHECK(normalise_host("SHOP.Test") == "shop.test");
  CHECK(normalise_host("Api.SHOP.TEST:3000") == "api.shop.test");
  CHECK(normalise_host("shop.test.") == "shop.test");
  CHECK(normalise_host("shop.test.:8080") == "shop.test");
  CHECK(normalise_host("Shop.Test.:80") == "shop.test");
  CHECK(normalise_host("[::1]:80") == "[::1]");
  CHECK(normalise_host("[::1]") == "[::1]");
  CHECK(normalise_host("[FE80::1]:8080") == "[fe80::1]");
  CHECK(normalise_host("127.0.0.1:8080") == "127.0.0.1");
  CHECK(normalise_host("") == "");
  CHECK(normalise_host(":80") == "");
  CHECK(normalise_host(".") == "");
}

TEST_CASE("router: <app>.<tld> goes to the web process", "[router]") {
  auto routes = table();
  check_app(routes.resolve("shop.test"), "shop", "web");
  check_app(routes.resolve("blog.test"), "blog", "app");
  // The route carries the app's status, with its instances.
  auto r = routes.resolve("shop.test");
  REQUIRE(r.app != nullptr);
  CHECK(r.app->of("web").size() == 2);
}

TEST_CASE("router: <proc>.<app>.<tld> goes to that process", "[router]") {
  auto routes = table();
  check_app(routes.resolve("api.shop.test"), "shop", "api");
  check_app(routes.resolve("worker.shop.test"), "shop", "worker");
  check_app(routes.resolve("web.shop.test"), "shop", "web");
  check_app(routes.resolve("app.blog.test"), "blog", "app");
  // A process of another app is no process of this one.
  check_app(routes.resolve("app.shop.test"), "shop", "web");
  check_app(routes.resolve("api.blog.test"), "blog", "app");
}

TEST_CASE("router: wildcard subdomains go to the web process", "[router]") {
  auto routes = table();
  check_app(routes.resolve("www.shop.test"), "shop", "web");
  check_app(routes.resolve("tenant-1.shop.test"), "shop", "web");
  check_app(routes.resolve("a.b.shop.test"), "shop", "web");
  check_app(routes.resolve("x.y.z.blog.test"), "blog", "app");
  // Only the label right before the app's name names a process.
  check_app(routes.resolve("tenant.api.shop.test"), "shop", "api");
  check_app(routes.resolve("api.tenant.shop.test"), "shop", "web");
}

TEST_CASE("router: aliases", "[router]") {
  auto routes = table();
  check_app(routes.resolve("store.test"), "shop", "web");
  check_app(routes.resolve("boutique.test"), "shop", "web");
  check_app(routes.resolve("api.store.test"), "shop", "api");
  check_app(routes.resolve("www.boutique.test"), "shop", "web");
}

TEST_CASE("router: rp.<tld> is the dashboard", "[router]") {
  auto routes = table({"test", "localhost"});
  for (const char* host : {"rp.test", "rp.localhost"}) {
    INFO(host);
    auto r = routes.resolve(host);
    CHECK(r.kind == Route::Kind::dashboard);
    CHECK(r.app == nullptr);
  }
  // Only rp.<tld> itself.
  CHECK(routes.resolve("rpx.test").kind == Route::Kind::not_found);
  CHECK(routes.resolve("xrp.test").kind == Route::Kind::not_found);
  CHECK(routes.resolve("rp.example").kind == Route::Kind::not_found);
}

TEST_CASE("router: unknown names are not found", "[router]") {
  auto routes = table();
  check_not_found(routes.resolve("nosuch.test"));
  check_not_found(routes.resolve("api.nosuch.test"));
  check_not_found(
      routes.resolve("shop.nosuch.test"));  // the app's name must be right before the tld
  check_not_found(routes.resolve("test"));  // the bare tld
  check_not_found(routes.resolve(".test"));
  check_not_found(routes.resolve(""));
  check_not_found(routes.resolve("shop.example"));  // outside the tlds
  check_not_found(routes.resolve("shop.test.example"));
  check_not_found(routes.resolve("shop.mytest"));  // a tld that merely ends the same
  check_not_found(routes.resolve("shoptest"));
  check_not_found(routes.resolve("localhost"));
  check_not_found(routes.resolve("127.0.0.1"));
}

TEST_CASE("router: an app's name must be a whole label", "[router]") {
  auto routes = table();
  check_not_found(routes.resolve("myshop.test"));
  check_not_found(routes.resolve("api.myshop.test"));
  check_not_found(routes.resolve("shopping.test"));
  check_not_found(routes.resolve("my-shop.test"));
  check_not_found(routes.resolve("xblog.test"));
}

TEST_CASE("router: several tlds", "[router]") {
  auto routes = table({"test", "localhost", "dev.internal"});
  check_app(routes.resolve("shop.test"), "shop", "web");
  check_app(routes.resolve("shop.localhost"), "shop", "web");
  check_app(routes.resolve("api.shop.localhost"), "shop", "api");
  check_app(routes.resolve("shop.dev.internal"), "shop", "web");
  check_app(routes.resolve("api.shop.dev.internal"), "shop", "api");
  check_not_found(routes.resolve("dev.internal"));
  check_not_found(routes.resolve("internal"));
  check_not_found(routes.resolve("shop.internal"));
  CHECK(routes.resolve("rp.dev.internal").kind == Route::Kind::dashboard);
  CHECK(routes.tlds() == std::vector<std::string>{"test", "localhost", "dev.internal"});
  CHECK(routes.apps().size() == 2);
}

TEST_CASE("router: no tlds, no apps", "[router]") {
  RouteTable none({}, {});
  check_not_found(none.resolve("shop.test"));
  check_not_found(none.resolve("rp.test"));
  RouteTable empty({"test"}, {});
  check_not_found(empty.resolve("shop.test"));
  CHECK(empty.resolve("rp.test").kind == Route::Kind::dashboard);
}

TEST_CASE("router: resolve after normalise_host", "[router]") {
  auto routes = table();
  check_app(routes.resolve(normalise_host("API.Shop.TEST.:8080")), "shop", "api");
  check_app(routes.resolve(normalise_host("shop.test:80")), "shop", "web");
  CHECK(routes.resolve(normalise_host("RP.test.")).kind == Route::Kind::dashboard);
}

TEST_CASE("router: a worktree's BRANCH.NAME wins over NAME's process called BRANCH", "[router]") {
  auto shop = app("shop", {}, "web", {instance("web", 1, 5000), instance("api", 1, 5100)});
  auto api_branch =
      app("api.shop", {}, "web", {instance("web", 1, 7000), instance("jobs", 1, 7100)});
  auto login = app("login.shop", {}, "web", {instance("web", 1, 8000)});
  RouteTable routes({"test"}, {shop, api_branch, login});
  check_app(routes.resolve("shop.test"), "shop", "web");
  check_app(routes.resolve("api.shop.test"), "api.shop", "web");
  check_app(routes.resolve("jobs.api.shop.test"), "api.shop", "jobs");
  check_app(routes.resolve("tenant.api.shop.test"), "api.shop", "web");
  check_app(routes.resolve("login.shop.test"), "login.shop", "web");
  check_app(routes.resolve("other.shop.test"), "shop", "web");
  check_not_found(routes.resolve("api.other.test"));
}
