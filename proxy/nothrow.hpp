// The completion token of the proxy's coroutines: `auto [ec, n] = co_await op(nothrow)`.
// Errors come back as values; an exception never crosses a connection's coroutine.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rp::proxy {

inline constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace rp::proxy
