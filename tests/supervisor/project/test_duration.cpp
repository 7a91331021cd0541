#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "supervisor/project/duration.hpp"

using namespace std::chrono_literals;
using rp::Duration;
using rp::format_duration;
using rp::parse_duration;

namespace {

Duration ok(const std::string& text) {
  std::string error;
  auto d = parse_duration(text, error);
  INFO(text << ": " << error);
  REQUIRE(d.has_value());
  CHECK(error.empty());
  return *d;
}

std::string fails(const std::string& text) {
  std::string error;
  auto d = parse_duration(text, error);
  INFO(text);
  CHECK_FALSE(d.has_value());
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("duration: each unit", "[duration]") {
  CHECK(ok("500ms") == 500ms);
  CHECK(ok("30s") == 30s);
  CHECK(ok("15m") == 15min);
  CHECK(ok("1h") == 1h);
  CHECK(ok("1ms") == 1ms);
  CHECK(ok("90s") == 90s);
}

TEST_CASE("duration: combined units", "[duration]") {
  CHECK(ok("1h30m") == 90min);
  CHECK(ok("1m30s") == 90s);
  CHECK(ok("2h15m10s250ms") == 2h + 15min + 10s + 250ms);
}

TEST_CASE("duration: zero", "[duration]") {
  CHECK(ok("0") == 0ms);
  CHECK(ok("0s") == 0ms);
  CHECK(ok("0ms") == 0ms);
}

TEST_CASE("duration: a bare number is refused", "[duration]") {
  CHECK(fails("30") == "'30' has no unit");
  fails("1");
  fails("1h30");
}

TEST_CASE("duration: unknown unit", "[duration]") {
  CHECK(fails("5x") == "'5x' has an unknown unit 'x'");
  fails("5sec");
  fails("5S");
  fails("1d");
}

TEST_CASE("duration: not a duration", "[duration]") {
  CHECK(fails("") == "empty duration");
  CHECK(fails("abc") == "'abc' is not a duration");
  CHECK(fails("-1s") == "'-1s' is not a duration");
  fails("s");
  fails(" 5s");
  fails("5s ");
  fails("1.5s");
}

TEST_CASE("duration: too large", "[duration]") {
  CHECK(fails("99999999999h") == "duration '99999999999h' is too large");
}

// Found writing the yaml fuzz target: each number was bounded, but not the sum, and a duration
// such as 3000000h overflows a steady_clock's nanoseconds in an app's stop deadline
// (`now + stop_timeout`) or its idle time, so the deadline wrapped into the past.
TEST_CASE("duration: at most about a century, so that now + d never overflows", "[duration]") {
  CHECK(ok("876000h") == rp::kLongestDuration);
  CHECK(fails("3000000h") == "duration '3000000h' is too large (at most 876000h, about a century)");
  fails("876000h1ms");
  fails("500000h500000h");
  std::string many;
  for (int i = 0; i < 3000; ++i) many += "1000000000h";  // a sum that overflowed milliseconds
  fails(many);
  const auto now = std::chrono::steady_clock::now();
  CHECK(now + rp::kLongestDuration > now);
}

TEST_CASE("duration: format_duration picks the shortest form", "[duration]") {
  CHECK(format_duration(0ms) == "0");
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(15min) == "15m");
  CHECK(format_duration(1h) == "1h");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(1h + 1ms) == "1h1ms");
  CHECK(format_duration(1500ms) == "1s500ms");
}

TEST_CASE("duration: format and parse round trip", "[duration]") {
  for (auto d :
       {Duration{0}, Duration{1}, Duration{999}, Duration{1000}, Duration{61'001},
        Duration{3'600'000}, Duration{5'400'000}, Duration{86'400'000}, Duration{3'723'004}}) {
    std::string text = format_duration(d);
    INFO(text);
    CHECK(ok(text) == d);
  }
  for (const char* text : {"0", "500ms", "30s", "15m", "1h", "1h30m", "2h5m3s7ms"}) {
    CHECK(format_duration(ok(text)) == text);
  }
}
