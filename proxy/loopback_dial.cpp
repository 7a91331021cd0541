#include "proxy/loopback_dial.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <variant>

#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace rp::proxy {

asio::awaitable<Dialed> dial_loopback(int port, int preferred_family,
                                      std::chrono::steady_clock::duration limit) {
  auto executor = co_await asio::this_coro::executor;
  const auto p = static_cast<unsigned short>(port);
  const tcp::endpoint v4(asio::ip::address_v4::loopback(), p);
  const tcp::endpoint v6(asio::ip::address_v6::loopback(), p);
  const bool v6_first = preferred_family == 6;
  const tcp::endpoint order[] = {v6_first ? v6 : v4, v6_first ? v4 : v6};

  Dialed out{Dialed::Result::refused, tcp::socket(executor), 0, {}};
  asio::steady_timer timer(executor, limit);
  for (const auto& ep : order) {
    tcp::socket s(executor);
    auto result = co_await (s.async_connect(ep, nothrow) || timer.async_wait(nothrow));
    if (result.index() == 1) {
      out.result = Dialed::Result::timed_out;
      out.error = "the app did not accept the connection in time";
      co_return out;
    }
    auto [ec] = std::get<0>(result);
    if (!ec) {
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      co_return Dialed{Dialed::Result::connected, std::move(s), ep.address().is_v6() ? 6 : 4, {}};
    }
    out.error += (out.error.empty() ? "" : "; ") + ep.address().to_string() + ": " + ec.message();
  }
  co_return out;
}

}  // namespace rp::proxy
