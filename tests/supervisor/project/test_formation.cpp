#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "supervisor/project/formation.hpp"

using rp::Formation;
using rp::parse_formation;

namespace {

Formation ok(const std::string& text) {
  std::string error;
  auto f = parse_formation(text, error);
  INFO(text << ": " << error);
  REQUIRE(f.has_value());
  return *f;
}

std::string fails(const std::string& text) {
  std::string error;
  auto f = parse_formation(text, error);
  INFO(text);
  CHECK_FALSE(f.has_value());
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("formation: named counts", "[formation]") {
  auto f = ok("web=2,worker=1");
  CHECK_FALSE(f.all.has_value());
  CHECK(f.counts == std::map<std::string, int>{{"web", 2}, {"worker", 1}});
  CHECK(f.count_for("web") == 2);
  CHECK(f.count_for("worker") == 1);
  CHECK(f.count_for("clock") == 1);  // not named, no all: one instance
}

TEST_CASE("formation: all=0", "[formation]") {
  auto f = ok("all=0");
  REQUIRE(f.all.has_value());
  CHECK(*f.all == 0);
  CHECK(f.counts.empty());
  CHECK(f.count_for("web") == 0);
  CHECK(f.count_for("anything") == 0);
}

TEST_CASE("formation: all with an exception", "[formation]") {
  auto f = ok("all=2,web=1");
  CHECK(f.all == 2);
  CHECK(f.count_for("web") == 1);
  CHECK(f.count_for("worker") == 2);
  // the order does not matter
  auto g = ok("web=1,all=2");
  CHECK(g.count_for("web") == 1);
  CHECK(g.count_for("worker") == 2);
}

TEST_CASE("formation: spaces and empty items are tolerated", "[formation]") {
  auto f = ok("  web = 2 , worker=3 ,");
  CHECK(f.count_for("web") == 2);
  CHECK(f.count_for("worker") == 3);
  CHECK(f.counts.size() == 2);
  auto empty = ok("");
  CHECK(empty.counts.empty());
  CHECK_FALSE(empty.all.has_value());
  CHECK(empty.count_for("web") == 1);
}

TEST_CASE("formation: a later count for the same name wins", "[formation]") {
  CHECK(ok("web=1,web=3").count_for("web") == 3);
}

TEST_CASE("formation: limits 0 and 100 are accepted", "[formation]") {
  CHECK(ok("web=0").count_for("web") == 0);
  CHECK(ok("web=100").count_for("web") == 100);
}

TEST_CASE("formation: errors", "[formation]") {
  CHECK(fails("web") == "'web' is not process=count");
  CHECK(fails("web=2,worker") == "'worker' is not process=count");
  CHECK(fails("web=x") == "'x' is not a count from 0 to 100 (in 'web=x')");
  CHECK(fails("web=-1") == "'-1' is not a count from 0 to 100 (in 'web=-1')");
  CHECK(fails("web=101") == "'101' is not a count from 0 to 100 (in 'web=101')");
  fails("web=1000");
  fails("web=99999999999999");
  fails("web=");
  fails("web=2x");
  fails("web=1.5");
  CHECK(fails("we b=1") == "'we b' is not a process name (in 'we b=1')");
  fails("web.1=1");
  fails("=1");
}
