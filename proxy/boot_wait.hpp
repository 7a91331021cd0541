// A request for a stopped app waits for it to boot. Booting is the daemon's work, done on the
// daemon's thread, which answers through a callback (SupervisorLink::wake); a session is a
// coroutine on a proxy thread, and async_result_of (proxy/async_result.hpp) brings the answer
// back to it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/async_result.hpp"
#include "proxy/nothrow.hpp"
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

// As wait_for_boot, but waits at most `limit`: nullopt when the boot has not ended by then (it
// goes on; its answer is then dropped).
inline boost::asio::awaitable<std::optional<BootResult>> wait_for_boot_within(
    SupervisorLink& supervisor, const std::string& app, std::int64_t restart_touched,
    std::chrono::milliseconds limit) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  struct Watch {
    asio::steady_timer timer;
    std::optional<BootResult> result;
  };
  auto watch = std::make_shared<Watch>(Watch{asio::steady_timer(executor, limit), std::nullopt});
  supervisor.wake(app, restart_touched, [watch, executor](BootResult result) {
    asio::post(executor, [watch, result = std::move(result)]() mutable {
      watch->result = std::move(result);
      watch->timer.cancel();
    });
  });
  co_await watch->timer.async_wait(nothrow);
  co_return std::move(watch->result);
}

}  // namespace rp::proxy
