// When to restart a service that exited, as a pure policy over times so it can be tested without
// waiting: 1 s, doubling to 30 s, back to 1 s once a run lasted 30 s; the fifth exit within a
// minute marks the process crashed, so a broken app does not spin forever.
#pragma once

#include <chrono>
#include <deque>

namespace rp {

class RestartPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  static constexpr Duration kFirstDelay = std::chrono::seconds(1);
  static constexpr Duration kMaxDelay = std::chrono::seconds(30);
  static constexpr Duration kStableAfter = std::chrono::seconds(30);
  static constexpr Duration kCrashWindow = std::chrono::minutes(1);
  static constexpr int kCrashExits = 5;

  struct Decision {
    bool crashed = false;
    Duration delay{0};  // how long to wait before starting again, when not crashed
  };

  // Records an exit of a run that started at `started` and ended at `exited`.
  Decision on_exit(Clock::time_point started, Clock::time_point exited);

 private:
  Duration next_delay_ = kFirstDelay;
  std::deque<Clock::time_point> recent_exits_;
};

}  // namespace rp
