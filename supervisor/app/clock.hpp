// The clock of an app's life: steady_clock, plus a shift that only tests move. Restart back-off,
// boot_timeout, stop_timeout and readiness retries all run on it, so a test can walk an app
// through a minute of crashes or a boot that times out in microseconds, with the same code the
// daemon runs (tests/supervisor/app/test_app_phases.cpp). In the daemon the shift stays zero.
#pragma once

#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <chrono>

namespace rp {

struct AppClock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    return std::chrono::steady_clock::now() + duration(shift_.load(std::memory_order_relaxed));
  }
  // Tests only: time jumps forward by `d` for every AppClock reader and timer.
  static void advance(duration d) noexcept { shift_.fetch_add(d.count()); }

 private:
  static inline std::atomic<rep> shift_{0};
};

using AppTimer = boost::asio::basic_waitable_timer<AppClock>;

}  // namespace rp
