#include <catch2/catch.hpp>

#include "supervisor/app/app_status.hpp"

using namespace rp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void ended_at(AppActivity& a, Clock::time_point t) {
  a.last_request_ns.store(t.time_since_epoch().count());
}

}  // namespace

TEST_CASE("an app is idle once idle_timeout has passed since it was ready or last served") {
  AppActivity a;
  const auto ready = Clock::time_point(100s);
  CHECK_FALSE(a.idle_for(15min, ready, ready + 14min));
  CHECK(a.idle_for(15min, ready, ready + 15min));

  ended_at(a, ready + 10min);  // a request ended later than it became ready
  CHECK_FALSE(a.idle_for(15min, ready, ready + 15min));
  CHECK(a.idle_for(15min, ready, ready + 25min));
}

TEST_CASE("an app with a request or tunnel open is never idle, and 0 means never") {
  AppActivity a;
  const auto ready = Clock::time_point(100s);
  a.in_flight = 1;
  CHECK_FALSE(a.idle_for(1s, ready, ready + 1h));
  a.in_flight = 0;
  CHECK(a.idle_for(1s, ready, ready + 1h));
  CHECK_FALSE(a.idle_for(0s, ready, ready + 1h));
}

TEST_CASE("an app's snapshot finds the instances of a process") {
  AppStatus app;
  for (auto label : {"web.1", "worker.1", "web.2"}) {
    auto i = std::make_shared<InstanceStatus>();
    i->label = label;
    i->process = std::string(label).substr(0, std::string(label).find('.'));
    app.instances.push_back(i);
  }
  CHECK(app.has("web"));
  CHECK_FALSE(app.has("clock"));
  auto web = app.of("web");
  REQUIRE(web.size() == 2);
  CHECK(web[0]->label == "web.1");
  CHECK(web[1]->label == "web.2");
}
