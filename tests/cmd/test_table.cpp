#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "cmd/table.hpp"

using namespace std::chrono_literals;
using rp::format_table;
using rp::human_age;

TEST_CASE("table: columns padded to the widest cell, two spaces apart", "[table]") {
  auto text = format_table(
      {"NAME", "STATUS", "URL"},
      {{"shop", "running", "http://shop.test"}, {"blog-admin", "idle", "http://blog-admin.test"}});
  CHECK(text ==
        "NAME        STATUS   URL\n"
        "shop        running  http://shop.test\n"
        "blog-admin  idle     http://blog-admin.test\n");
}

TEST_CASE("table: no trailing spaces, even after empty last cells", "[table]") {
  auto text = format_table({"A", "B", "C"}, {{"x", "", ""}, {"long", "yy", "z"}, {"", "", ""}});
  CHECK(text ==
        "A     B   C\n"
        "x\n"
        "long  yy  z\n"
        "\n");
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', nl + 1)) {
    if (nl > 0) CHECK(text[nl - 1] != ' ');
  }
}

TEST_CASE("table: width counts UTF-8 code points, not bytes", "[table]") {
  auto text = format_table({"NAME", "PORT", "AGE"}, {{"shop", "—", "3m"}, {"café", "3000", "1h"}});
  CHECK(text ==
        "NAME  PORT  AGE\n"
        "shop  —     3m\n"
        "café  3000  1h\n");
}

TEST_CASE("table: ragged rows and an empty header", "[table]") {
  CHECK(format_table({"A", "B"}, {{"1"}, {"1", "2", "3"}}) ==
        "A  B\n"
        "1\n"
        "1  2  3\n");
  CHECK(format_table({}, {{"a", "b"}, {"cc", "d"}}) ==
        "a   b\n"
        "cc  d\n");
  CHECK(format_table({"NAME", "STATUS"}, {}) == "NAME  STATUS\n");
  CHECK(format_table({}, {}).empty());
}

TEST_CASE("human_age: seconds, minutes, hours, days", "[table]") {
  CHECK(human_age(0s) == "0s");
  CHECK(human_age(1s) == "1s");
  CHECK(human_age(59s) == "59s");
  CHECK(human_age(60s) == "1m");
  CHECK(human_age(61s) == "1m1s");
  CHECK(human_age(200s) == "3m20s");
  CHECK(human_age(9min + 59s) == "9m59s");
  CHECK(human_age(10min) == "10m");
  CHECK(human_age(10min + 59s) == "10m");
  CHECK(human_age(59min + 59s) == "59m");
  CHECK(human_age(1h) == "1h");
  CHECK(human_age(1h + 5min + 30s) == "1h5m");
  CHECK(human_age(23h + 59min + 59s) == "23h59m");
  CHECK(human_age(24h) == "1d");
  CHECK(human_age(2 * 24h + 3h + 59min) == "2d3h");
  CHECK(human_age(400 * 24h) == "400d");
}

TEST_CASE("human_age: a negative age is 0s", "[table]") {
  CHECK(human_age(-1s) == "0s");
  CHECK(human_age(-100h) == "0s");
}
