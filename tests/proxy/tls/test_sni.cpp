#include <catch2/catch.hpp>

#include "proxy/tls/sni.hpp"

using rp::tls::choose_leaf;
using rp::tls::LeafChoice;
using Kind = LeafChoice::Kind;

namespace {
const std::vector<std::string> kTlds{"test", "localhost"};

std::string base(std::string_view sni) {
  auto choice = choose_leaf(sni, kTlds);
  REQUIRE(choice.kind == Kind::name);
  return choice.name;
}
}  // namespace

TEST_CASE("an app's name and the names one label below it share the app's certificate") {
  CHECK(base("shop.test") == "shop.test");
  CHECK(base("web.shop.test") == "shop.test");
  CHECK(base("Admin.Shop.Test.") == "shop.test");
  CHECK(base("shop.localhost") == "shop.localhost");
  CHECK(base("api.shop.localhost") == "shop.localhost");
}

TEST_CASE("a deeper name gets its parent's certificate, whose wildcard covers it") {
  CHECK(base("a.b.shop.test") == "b.shop.test");
  CHECK(base("x.a.b.shop.test") == "a.b.shop.test");
}

TEST_CASE("no name, localhost and loopback addresses get the loopback certificate") {
  CHECK(choose_leaf("", kTlds).kind == Kind::loopback);
  CHECK(choose_leaf("localhost", kTlds).kind == Kind::loopback);
  CHECK(choose_leaf("LOCALHOST.", kTlds).kind == Kind::loopback);
  CHECK(choose_leaf("127.0.0.1", kTlds).kind == Kind::loopback);
  CHECK(choose_leaf("::1", kTlds).kind == Kind::loopback);
}

TEST_CASE("names outside rp's TLDs, bare TLDs and malformed names are refused") {
  for (const char* name :
       {"example.com", "bank.com", "test", "localhost.com", "shoptest", "10.0.0.1", "shop..test",
        ".test", "sh op.test", "shop.test.evil.com", "contest", "a.contest"}) {
    INFO(name);
    CHECK(choose_leaf(name, kTlds).kind == Kind::refused);
  }
  CHECK(choose_leaf(std::string(64, 'a') + ".test", kTlds).kind == Kind::refused);
}

TEST_CASE("the longest configured TLD wins, and only configured TLDs count") {
  const std::vector<std::string> tlds{"dev.internal", "internal"};
  auto choice = choose_leaf("shop.dev.internal", tlds);
  REQUIRE(choice.kind == Kind::name);
  CHECK(choice.name == "shop.dev.internal");
  CHECK(choose_leaf("shop.test", tlds).kind == Kind::refused);
}
