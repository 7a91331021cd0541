// The access line of every request, into its app's output (what `rp up` and `rp logs -f` show
// and the app's log file keeps). Lines are gathered per proxy thread and handed to the daemon's
// thread together every 5 ms (or sooner when 256 are waiting): each hand-over wakes the daemon's
// thread and then `rp up`. A hand-over per request would cost every request those wake-ups; a
// longer delay would make the bursts of work they bring longer, which a lone connection waits
// behind on a shared core (its p99). The proxy never waits for whoever reads them.
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
  void arm();
  void flush();

  SupervisorLink* supervisor_ = nullptr;
  std::vector<AccessLine> pending_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
};

}  // namespace rp::proxy
