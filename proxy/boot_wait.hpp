// A request for a stopped app waits for it to boot. Booting is the daemon's work, done on the
// daemon's thread, which answers through a callback (SupervisorLink::wake); a session is a
// coroutine on a proxy thread, and async_result_of (proxy/async_result.hpp) brings the answer
// back to it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "proxy/async_result.hpp"
#include "supervisor/link.hpp"

namespace rp::proxy {

// Asks the daemon to wake an app (it starts it if need be; restarts it first for a touch of
// tmp/restart.txt, SupervisorLink::wake) and resumes once it says how the boot went. Requests
// that arrive meanwhile wait for the same boot.
inline boost::asio::awaitable<BootResult> wait_for_boot(SupervisorLink& supervisor,
                                                        const std::string& app,
                                                        std::int64_t restart_touched) {
  return async_result_of<BootResult>([&supervisor, &app, restart_touched](auto done) {
    supervisor.wake(app, restart_touched, std::move(done));
  });
}

}  // namespace rp::proxy
