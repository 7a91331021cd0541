// The boot page's parts: which requests are navigations, the page (its output so far, a script
// allowed by nonce only) and the progress answers its script asks for.
#include <catch2/catch.hpp>

#include "proxy/boot_page.hpp"

using namespace rp;
using namespace rp::proxy;

namespace {

http::Head request(std::string method, std::vector<http::Header> headers) {
  http::Head h;
  h.method = std::move(method);
  h.target.push_back('/');  // (a literal here trips GCC 12 -O3's false -Wrestrict)
  h.headers = std::move(headers);
  return h;
}

AppStatus booting_app(AppPhase phase) {
  AppStatus app;
  app.name = "shop";
  app.web = "web";
  auto web = std::make_shared<InstanceStatus>();
  web->process = "web";
  web->label = "web.1";
  web->log.push("Booting <Puma> \"5\"");
  auto worker = std::make_shared<InstanceStatus>();
  worker->process = "worker";
  worker->label = "worker.1";
  worker->log.push("\x1b[32mready\x1b[0m");
  app.instances = {worker, web};
  app.activity = std::make_shared<AppActivity>();
  app.activity->phase = phase;
  return app;
}

}  // namespace

TEST_CASE("boot page: only a browser's navigation gets it", "[boot_page]") {
  CHECK(is_navigation(request("GET", {{"Sec-Fetch-Mode", "navigate"}}), true));
  CHECK(is_navigation(request("GET", {{"Sec-Fetch-Mode", "navigate"}}), false));
  CHECK_FALSE(is_navigation(request("GET", {{"Sec-Fetch-Mode", "cors"}}), true));  // a fetch
  CHECK_FALSE(is_navigation(request("GET", {{"Sec-Fetch-Mode", "no-cors"}}), true));
  CHECK(is_navigation(request("GET", {}), true));         // an older browser: Accept says it
  CHECK_FALSE(is_navigation(request("GET", {}), false));  // curl, an API client
  CHECK_FALSE(is_navigation(request("POST", {{"Sec-Fetch-Mode", "navigate"}}), true));
  CHECK(is_boot_poll(request("GET", {{"X-Rp-Boot", "1"}})));
  CHECK_FALSE(is_boot_poll(request("GET", {})));
}

TEST_CASE("boot page: the output so far, escaped, and a script allowed by nonce", "[boot_page]") {
  const AppStatus app = booting_app(AppPhase::starting);
  const Page page = boot_page(app);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.body.find("Starting shop") != std::string::npos);
  // The web process first, escaped.
  const auto web = page.body.find("web.1 | Booting &lt;Puma&gt; &quot;5&quot;");
  const auto worker = page.body.find("worker.1 | ");
  REQUIRE(web != std::string::npos);
  REQUIRE(worker != std::string::npos);
  CHECK(web < worker);
  std::string csp;
  for (const auto& h : page.headers) {
    if (h.name == "Content-Security-Policy") csp = h.value;
  }
  const auto at = csp.find("script-src 'nonce-");
  REQUIRE(at != std::string::npos);
  const std::string nonce = csp.substr(at + 18, 32);
  CHECK(page.body.find("<script nonce=\"" + nonce + "\">") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(boot_page(app).body.find(nonce) == std::string::npos);  // a new one each time
}

TEST_CASE("boot page: the progress its script asks for", "[boot_page]") {
  const Page starting = boot_progress(booting_app(AppPhase::starting));
  CHECK(starting.content_type == "application/json");
  CHECK(starting.body ==
        "{\"state\":\"starting\",\"log\":[\"web.1 | Booting <Puma> \\\"5\\\"\","
        "\"worker.1 | \\u001b[32mready\\u001b[0m\"]}\n");
  REQUIRE(starting.headers.size() == 1);
  CHECK(starting.headers[0].name == "X-Rp-Boot-State");
  CHECK(starting.headers[0].value == "starting");
  CHECK(boot_progress(booting_app(AppPhase::failed)).headers[0].value == "failed");
  CHECK(boot_progress(booting_app(AppPhase::stopped)).headers[0].value == "stopped");
}
