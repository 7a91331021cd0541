#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "proxy/balancer.hpp"
#include "supervisor/app/app_status.hpp"

using rp::AppStatus;
using rp::InstanceState;
using rp::InstanceStatus;
using rp::proxy::pick_instance;

namespace {

std::shared_ptr<InstanceStatus> instance(const std::string& process, int n,
                                         InstanceState state = InstanceState::running,
                                         int outstanding = 0) {
  auto i = std::make_shared<InstanceStatus>();
  i->process = process;
  i->label = process + "." + std::to_string(n);
  i->port = 5000 + n;
  i->state = state;
  i->outstanding = outstanding;
  return i;
}

AppStatus app(std::vector<std::shared_ptr<InstanceStatus>> instances) {
  AppStatus a;
  a.name = "shop";
  a.web = "web";
  a.instances = std::move(instances);
  return a;
}

std::string label_of(const std::shared_ptr<InstanceStatus>& i) {
  return i ? i->label : "(none)";
}

}  // namespace

TEST_CASE("the instance with the fewest requests in flight wins, wherever the scan starts") {
  auto shop = app({instance("web", 1, InstanceState::running, 3),
                   instance("web", 2, InstanceState::running, 1),
                   instance("web", 3, InstanceState::running, 2)});
  for (unsigned start = 0; start < 6; ++start) {
    unsigned round_robin = start;
    CHECK(label_of(pick_instance(shop, "web", round_robin)) == "web.2");
    CHECK(round_robin == start + 1);
  }
}

TEST_CASE("ties between instances rotate") {
  auto shop = app({instance("web", 1), instance("web", 2), instance("web", 3)});
  unsigned round_robin = 0;
  std::vector<std::string> picked;
  for (int i = 0; i < 4; ++i) picked.push_back(label_of(pick_instance(shop, "web", round_robin)));
  CHECK(picked == std::vector<std::string>{"web.1", "web.2", "web.3", "web.1"});
}

TEST_CASE("crashed, stopped and backing-off instances are passed over; starting ones are not") {
  auto shop =
      app({instance("web", 1, InstanceState::crashed), instance("web", 2, InstanceState::stopped),
           instance("web", 3, InstanceState::backing_off),
           instance("web", 4, InstanceState::running, 5)});
  for (unsigned start = 0; start < 4; ++start) {
    unsigned round_robin = start;
    CHECK(label_of(pick_instance(shop, "web", round_robin)) == "web.4");
  }

  auto booting = app(
      {instance("web", 1, InstanceState::crashed), instance("web", 2, InstanceState::starting, 7)});
  unsigned round_robin = 0;
  CHECK(label_of(pick_instance(booting, "web", round_robin)) == "web.2");
}

TEST_CASE("with no instance up, one is picked anyway so that the error page can say why") {
  auto shop = app({instance("api", 1), instance("web", 1, InstanceState::crashed),
                   instance("web", 2, InstanceState::stopped)});
  unsigned round_robin = 0;
  auto picked = pick_instance(shop, "web", round_robin);
  REQUIRE(picked);
  CHECK(picked->process == "web");
}

TEST_CASE("a process without instances gets none") {
  unsigned round_robin = 0;
  CHECK(pick_instance(app({}), "web", round_robin) == nullptr);
  CHECK(pick_instance(app({instance("worker", 1)}), "web", round_robin) == nullptr);
}

TEST_CASE("other processes' instances are not candidates, however idle") {
  auto shop = app({instance("api", 1, InstanceState::running, 0),
                   instance("web", 1, InstanceState::running, 4),
                   instance("worker", 1, InstanceState::running, 0)});
  for (unsigned start = 0; start < 3; ++start) {
    unsigned round_robin = start;
    CHECK(label_of(pick_instance(shop, "web", round_robin)) == "web.1");
    CHECK(label_of(pick_instance(shop, "api", round_robin)) == "api.1");
  }
}
