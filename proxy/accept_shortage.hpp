// What a listener does when accept fails because rp has run out of file descriptors (EMFILE,
// ENFILE) or of kernel memory (ENOBUFS, ENOMEM). The waiting connection stays in the listen
// queue, so accepting again at once would fail again at once: a spin. The listener pauses instead
// and tries again, and meanwhile the connections it already has go on and free what they hold.
// The shortage is the process's, not one listener's: the daemon's log says so once for the whole
// episode, whichever listeners and threads meet it (the proxy's, the control API's, DNS over
// TCP's), and once more when accepting works again: when an accept works a second after the last
// failure (a queue of waiting connections refills the descriptors that a few closes free, and
// that is still the same shortage).
#pragma once

#include <atomic>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rp::proxy {

class AcceptShortage {
 public:
  // `say` writes a line to the daemon's log; it is called from any thread.
  explicit AcceptShortage(std::function<void(const std::string&)> say) : say_(std::move(say)) {}

  // An accept failed with `ec`: how long the listener waits before it accepts again. Zero for a
  // failure of one connection (a client that reset it while it was queued): go on at once.
  std::chrono::milliseconds failed(const boost::system::error_code& ec);
  // An accept succeeded: may end an episode (when there is none, one relaxed load).
  void accepted() {
    if (short_.load(std::memory_order_relaxed)) recovered();
  }

 private:
  void recovered();

  std::function<void(const std::string&)> say_;
  std::atomic<bool> short_{false};
  std::atomic<std::int64_t> last_failure_{0};  // steady_clock, in its ticks
};

}  // namespace rp::proxy
