#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "supervisor/app/backoff.hpp"

using namespace std::chrono_literals;
using rp::RestartPolicy;
using Clock = RestartPolicy::Clock;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;

}  // namespace

TEST_CASE("backoff: delays double from 1 s and stop at 30 s", "[backoff]") {
  RestartPolicy policy;
  // Each run lasts 25 s (not stable) so no more than three exits fall in any minute.
  Clock::time_point now = t0;
  std::vector<RestartPolicy::Duration> delays;
  for (int i = 0; i < 9; ++i) {
    auto started = now;
    auto exited = started + 25s;
    auto d = policy.on_exit(started, exited);
    REQUIRE_FALSE(d.crashed);
    delays.push_back(d.delay);
    now = exited + d.delay;
  }
  std::vector<RestartPolicy::Duration> expected{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s, 30s};
  CHECK(delays == expected);
}

TEST_CASE("backoff: constants", "[backoff]") {
  CHECK(RestartPolicy::kFirstDelay == 1s);
  CHECK(RestartPolicy::kMaxDelay == 30s);
  CHECK(RestartPolicy::kStableAfter == 30s);
  CHECK(RestartPolicy::kCrashWindow == 1min);
  CHECK(RestartPolicy::kCrashExits == 5);
}

TEST_CASE("backoff: a run of 30 s or more resets the delay", "[backoff]") {
  RestartPolicy policy;
  auto now = t0;
  auto exit_after = [&](auto run) {
    auto started = now;
    auto d = policy.on_exit(started, started + run);
    now = started + run + d.delay;
    return d;
  };
  CHECK(exit_after(25s).delay == 1s);
  CHECK(exit_after(25s).delay == 2s);
  CHECK(exit_after(25s).delay == 4s);
  CHECK(exit_after(30s).delay == 1s);  // exactly 30 s counts as stable
  CHECK(exit_after(25s).delay == 2s);
  CHECK(exit_after(29s).delay == 4s);  // 29 s does not reset
  CHECK(exit_after(10min).delay == 1s);
}

TEST_CASE("backoff: the fifth exit within a minute marks the process crashed", "[backoff]") {
  RestartPolicy policy;
  auto now = t0;
  for (int i = 0; i < 4; ++i) {
    auto d = policy.on_exit(now, now + 1s);
    INFO("exit " << i + 1);
    CHECK_FALSE(d.crashed);
    CHECK(d.delay > 0ms);
    now += 2s;
  }
  auto d = policy.on_exit(now, now + 1s);
  CHECK(d.crashed);
  CHECK(d.delay == 0ms);
}

TEST_CASE("backoff: five exits spanning exactly a minute still crash", "[backoff]") {
  RestartPolicy policy;
  for (int i = 0; i < 4; ++i) {
    CHECK_FALSE(policy.on_exit(t0 + i * 15s - 1s, t0 + i * 15s).crashed);
  }
  CHECK(policy.on_exit(t0 + 59s, t0 + 60s).crashed);
}

TEST_CASE("backoff: exits spread beyond a minute do not crash", "[backoff]") {
  RestartPolicy policy;
  // One exit every 16 s: at most four fall within any 60 s.
  for (int i = 0; i < 20; ++i) {
    auto exited = t0 + i * 16s;
    auto d = policy.on_exit(exited - 1s, exited);
    INFO("exit " << i + 1);
    CHECK_FALSE(d.crashed);
  }
}

TEST_CASE("backoff: old exits leave the window", "[backoff]") {
  RestartPolicy policy;
  for (int i = 0; i < 4; ++i) CHECK_FALSE(policy.on_exit(t0 + i * 1s, t0 + i * 1s).crashed);
  // Four quick exits, then a pause of more than a minute: the window is empty again.
  auto later = t0 + 3s + 61s;
  CHECK_FALSE(policy.on_exit(later, later).crashed);
  for (int i = 1; i < 4; ++i) CHECK_FALSE(policy.on_exit(later + i * 1s, later + i * 1s).crashed);
  CHECK(policy.on_exit(later + 4s, later + 4s).crashed);
}
