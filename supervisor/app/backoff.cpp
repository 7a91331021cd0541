#include "supervisor/app/backoff.hpp"

#include <algorithm>

namespace rp {

RestartPolicy::Decision RestartPolicy::on_exit(Clock::time_point started,
                                               Clock::time_point exited) {
  if (exited - started >= kStableAfter) next_delay_ = kFirstDelay;
  recent_exits_.push_back(exited);
  while (!recent_exits_.empty() && exited - recent_exits_.front() > kCrashWindow) {
    recent_exits_.pop_front();
  }
  if (static_cast<int>(recent_exits_.size()) >= kCrashExits) return {true, Duration{0}};
  Decision d{false, next_delay_};
  next_delay_ = std::min(next_delay_ * 2, kMaxDelay);
  return d;
}

}  // namespace rp
