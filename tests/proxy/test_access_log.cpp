#include <catch2/catch.hpp>
#include <chrono>

#include "proxy/access_log.hpp"

using rp::proxy::access_text;
using rp::proxy::handover_due;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST_CASE("an access line says what was asked, the answer, its size, the time and the instance") {
  CHECK(access_text("GET", "/some/path?x=1", 200, 12, microseconds(2340), "web.1") ==
        "GET /some/path?x=1 200 12 B 2.3 ms web.1");
}

TEST_CASE("an access line of a request that came over HTTPS says so at its end") {
  CHECK(access_text("GET", "/", 200, 12, microseconds(2340), "web.1", "https") ==
        "GET / 200 12 B 2.3 ms web.1 https");
}

TEST_CASE("an access line gives sizes in B, KiB or MiB") {
  CHECK(access_text("GET", "/", 200, 0, microseconds(0), "web.1") == "GET / 200 0 B 0.0 ms web.1");
  CHECK(access_text("GET", "/", 200, 1023, microseconds(0), "web.1") ==
        "GET / 200 1023 B 0.0 ms web.1");
  CHECK(access_text("GET", "/", 200, 1536, microseconds(0), "web.1") ==
        "GET / 200 1.5 KiB 0.0 ms web.1");
  CHECK(access_text("POST", "/up", 201, 3 * 1024 * 1024, microseconds(1'250'000), "api.2") ==
        "POST /up 201 3.0 MiB 1250.0 ms api.2");
}

TEST_CASE("an access line rounds to a tenth, half up, at every scale") {
  CHECK(access_text("GET", "/", 200, 0, microseconds(49), "web.1") == "GET / 200 0 B 0.0 ms web.1");
  CHECK(access_text("GET", "/", 200, 0, microseconds(50), "web.1") == "GET / 200 0 B 0.1 ms web.1");
  CHECK(access_text("GET", "/", 200, 0, microseconds(999'950), "web.1") ==
        "GET / 200 0 B 1000.0 ms web.1");
  // Just under a MiB is still KiB, rounded up to 1024.0.
  CHECK(access_text("GET", "/", 200, 1024 * 1024 - 1, microseconds(0), "web.1") ==
        "GET / 200 1024.0 KiB 0.0 ms web.1");
  CHECK(access_text("GET", "/", 200, 1024 * 1024 + 52'429, microseconds(0), "web.1") ==
        "GET / 200 1.1 MiB 0.0 ms web.1");
  CHECK(access_text("GET", "/", 504, 0, microseconds(0), "web.1") == "GET / 504 0 B 0.0 ms web.1");
}

TEST_CASE("a batch of access lines goes after 5 ms once it has 32, at once at 256, else at 50 ms") {
  // Busy: the cap sends at once; 5 ms sends whatever came, as long as it is 32 lines or more.
  CHECK(handover_due(256, milliseconds(0)));
  CHECK_FALSE(handover_due(255, milliseconds(4)));
  CHECK(handover_due(32, milliseconds(5)));
  CHECK(handover_due(200, milliseconds(5)));
  // Quiet: fewer lines wait for more, up to 50 ms, so that a hand-over is worth its wake-ups.
  CHECK_FALSE(handover_due(31, milliseconds(5)));
  CHECK_FALSE(handover_due(1, milliseconds(49)));
  CHECK(handover_due(1, milliseconds(50)));
  CHECK(handover_due(32, milliseconds(20)));
}
