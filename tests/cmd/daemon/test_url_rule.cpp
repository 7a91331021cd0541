// url_rule: which names the URLs rp shows use, given what the system resolver does.
#include <catch2/catch.hpp>

#include "cmd/daemon/url_rule.hpp"

using rp::cmd::Listening;
using rp::cmd::url_rule;
using rp::cmd::url_rule_for;

TEST_CASE("url_rule: the first TLD's names when the system resolver sends them to rp") {
  auto rule = url_rule({"test", "localhost"}, true, {7780, 0});
  CHECK(rule.tld == "test");
  CHECK(rule.suffix == ".test:7780");
  CHECK(rule.hint.empty());
  CHECK(url_rule({"test", "localhost"}, true, {80, 0}).suffix == ".test");
}

TEST_CASE("url_rule: .localhost names, with a hint, when the first TLD does not resolve") {
  auto rule = url_rule({"test", "localhost"}, false, {7780, 0});
  CHECK(rule.tld == "localhost");
  CHECK(rule.suffix == ".localhost:7780");
  CHECK(rule.hint ==
        "*.test does not resolve here yet, so URLs are http://NAME.localhost:7780; for *.test: "
        "sudo rp setup --apply, then rp daemon stop (the daemon checks when it starts)");
  CHECK(url_rule({"dev", "test", "localhost"}, false, {80, 0}).suffix == ".localhost");
  CHECK(url_rule({"dev", "test", "localhost"}, false, {80, 0}).hint.find("*.dev ") == 0);
}

TEST_CASE("url_rule: without localhost among the TLDs, the first TLD's names as before") {
  auto rule = url_rule({"test"}, false, {7780, 0});
  CHECK(rule.tld == "test");
  CHECK(rule.suffix == ".test:7780");
  CHECK(rule.hint.empty());
}

TEST_CASE("url_rule: localhost first needs no resolver") {
  for (bool resolves : {true, false}) {
    auto rule = url_rule({"localhost", "test"}, resolves, {7780, 0});
    CHECK(rule.suffix == ".localhost:7780");
    CHECK(rule.hint.empty());
  }
}

TEST_CASE("url_rule: no port when the proxy listens on 80 or not at all") {
  CHECK(url_rule({"test", "localhost"}, false, {80, 0}).suffix == ".localhost");
  CHECK(url_rule({"test", "localhost"}, false, {0, 0}).suffix == ".localhost");
}

TEST_CASE("url_rule_for: the chosen TLD, no hint") {
  auto rule = url_rule_for("test", {7780, 7743});
  CHECK(rule.tld == "test");
  CHECK(rule.suffix == ".test:7780");
  CHECK(rule.hint.empty());
}

TEST_CASE("url_rule: https URLs when the proxy serves HTTPS only") {
  auto rule = url_rule({"test", "localhost"}, true, Listening{0, 7743});
  CHECK(rule.scheme == "https");
  CHECK(rule.suffix == ".test:7743");
  CHECK(url_rule({"test", "localhost"}, true, Listening{0, 443}).suffix == ".test");
  auto local = url_rule({"test", "localhost"}, false, Listening{0, 7743});
  CHECK(local.suffix == ".localhost:7743");
  CHECK(local.hint.find("so URLs are https://NAME.localhost:7743;") != std::string::npos);
  // With plain HTTP there, its URLs, as browsers type them.
  CHECK(url_rule({"test"}, true, Listening{7780, 7743}).scheme == "http");
  CHECK(url_rule({"test"}, true, Listening{0, 0}).scheme == "http");
}
