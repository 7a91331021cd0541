// append_json_string: what the control API's streams carry of an app's output. Every result must
// parse as JSON and say the same as the input where the input was valid UTF-8.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "proxy/json_escape.hpp"

namespace {

// The string the JSON text decodes to (the test fails if it is not valid JSON).
std::string round_trip(std::string_view text) {
  std::string json = "\"";
  rp::proxy::append_json_string(json, text);
  json += '"';
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  INFO(json);
  REQUIRE_FALSE(ec);
  REQUIRE(value.is_string());
  return std::string(value.as_string());
}

const std::string kReplacement = "\xef\xbf\xbd";

}  // namespace

TEST_CASE("json escape: plain text, quotes, backslashes and control characters") {
  CHECK(round_trip("hello, world") == "hello, world");
  CHECK(round_trip(R"(say "hi" \ bye)") == R"(say "hi" \ bye)");
  CHECK(round_trip(std::string("tab\there\x01\x1f", 11)) == std::string("tab\there\x01\x1f", 11));
  CHECK(round_trip("\x1b[31mred\x1b[0m") == "\x1b[31mred\x1b[0m");
  CHECK(round_trip(std::string("nul\0inside", 10)) == std::string("nul\0inside", 10));
  CHECK(round_trip("") == "");
}

TEST_CASE("json escape: valid UTF-8 passes as it is") {
  for (std::string s : {"caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x9a\x80 launch", "\xed\x9f\xbf",
                        "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xc2\x80"}) {
    CHECK(round_trip(s) == s);
  }
}

TEST_CASE("json escape: each byte outside a valid sequence becomes U+FFFD") {
  // Latin-1 and stray bytes.
  CHECK(round_trip("caf\xe9") == "caf" + kReplacement);
  CHECK(round_trip("\xff\xfe ok") == kReplacement + kReplacement + " ok");
  // A lone continuation byte.
  CHECK(round_trip("\x80x") == kReplacement + "x");
  // Overlong forms.
  CHECK(round_trip("\xc0\x80") == kReplacement + kReplacement);
  CHECK(round_trip("\xe0\x80\x80") == kReplacement + kReplacement + kReplacement);
  // A surrogate, and past U+10FFFF.
  CHECK(round_trip("\xed\xa0\x80") == kReplacement + kReplacement + kReplacement);
  CHECK(round_trip("\xf4\x90\x80\x80").find("\xf4") == std::string::npos);
  // A sequence cut short, in the middle and at the end.
  CHECK(round_trip("\xe2\x82x") == kReplacement + kReplacement + "x");
  CHECK(round_trip("end\xf0\x9f\x9a") == "end" + kReplacement + kReplacement + kReplacement);
}
