// The access line of every request, into its app's output (what `rp up` and `rp logs -f` show
// and the app's log file keeps). Lines are gathered per proxy thread and handed to the daemon's
// thread together (handover_due): each hand-over wakes the daemon's thread and then `rp up`, so a
// hand-over per request would cost every request those wake-ups; a batch of many lines makes the
// burst of work it brings long, which a lone connection waits behind on a shared core (its p99).
// So a batch goes after 5 ms once it has 32 lines, at once when it has 256, and after 50 ms
// whatever it has: at a few thousand requests a second and more, bursts stay as short as a 5 ms
// batch's; below that, each hand-over still carries lines enough to be worth its wake-ups. The
// proxy never waits for whoever reads them.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/link.hpp"

namespace rp::proxy {

// The text of one request's line: "GET /path?x=1 200 1.5 KiB 2.3 ms web.1" (what it asked, the
// status and body size of the answer, how long it took, which instance answered), and how it
// came when that was not plain HTTP/1 ("... web.1 https").
std::string access_text(std::string_view method, std::string_view target, int status,
                        std::uint64_t bytes, std::chrono::microseconds took,
                        std::string_view instance, std::string_view via = {});

// Whether a batch of `waiting` lines, the first of which came `waited` ago, is handed over now.
bool handover_due(std::size_t waiting, std::chrono::steady_clock::duration waited);

class AccessLog {
 public:
  explicit AccessLog(boost::asio::any_io_executor executor) : timer_(executor) {}
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  // Lines still batched when the proxy stops are dropped, not handed over: the daemon's loop that
  // would take them has stopped, and the supervisor may be gone.

  // Lines go to `supervisor` from now on; before, they are dropped. Called before the thread runs.
  void attach(SupervisorLink* supervisor) { supervisor_ = supervisor; }
  void add(const std::string& app, std::string text);

 private:
  void wait_until(std::chrono::steady_clock::time_point when);
  void flush();

  SupervisorLink* supervisor_ = nullptr;
  std::vector<AccessLine> pending_;
  std::chrono::steady_clock::time_point first_;  // when the first of pending_ came
  boost::asio::steady_timer timer_;
  bool armed_ = false;
};

}  // namespace rp::proxy
