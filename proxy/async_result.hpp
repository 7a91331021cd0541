// Coroutines meet callbacks: the supervisor answers through callbacks (a wake, a stop, a
// registration), and the proxy's sessions and the control API are coroutines. async_result_of
// bridges the two for any callback-style start: the coroutine suspends, the callback may come on
// any thread, and the result is posted back to the coroutine's own executor, so that it goes on
// where its sockets live, without locks.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <utility>

namespace rp::proxy {

// Calls `start(done)` and resumes with the T that `done(T)` is given. `done` is copyable (it
// fits a std::function) and is called at most once, from any thread. If every copy of it is
// destroyed uncalled (an app removed with its waiters), the coroutine is destroyed with it,
// never resumed: a session's connection then closes. That must happen where the coroutine's
// executor runs or after it has stopped, never while it runs on another thread.
template <typename T, typename Start>
boost::asio::awaitable<T> async_result_of(Start start) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
      [&start, executor](auto handler) {
        // The handler is move-only; a std::function needs a copyable callable.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared, executor](T result) {
          asio::post(executor, [shared, result = std::move(result)]() mutable {
            (*shared)(std::move(result));
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace rp::proxy
