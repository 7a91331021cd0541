#include "proxy/tunnel.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "proxy/client_stream.hpp"
#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace rp::proxy {
namespace {

template <typename From, typename To>
asio::awaitable<void> pass_on(From& from, To& to, std::string_view first) {
  boost::system::error_code ignored;
  if (!first.empty()) {
    auto [ec, n] =
        co_await asio::async_write(to, asio::buffer(first.data(), first.size()), nothrow);
    if (ec) {
      socket_of(from).shutdown(tcp::socket::shutdown_receive, ignored);
      co_return;
    }
  }
  auto buffer = std::make_unique<char[]>(16 * 1024);
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer.get(), 16 * 1024), nothrow);
    if (n > 0) {
      auto [wec, w] = co_await asio::async_write(to, asio::buffer(buffer.get(), n), nothrow);
      if (wec) {
        // The other side is gone: stop reading from this one too.
        socket_of(from).shutdown(tcp::socket::shutdown_receive, ignored);
        co_return;
      }
    }
    if (ec) {
      // End of this direction: pass the half-close on.
      socket_of(to).shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

}  // namespace

template <typename Client>
asio::awaitable<void> tunnel(Client& client, tcp::socket& upstream, std::string_view to_upstream,
                             std::string_view to_client) {
  co_await (pass_on(client, upstream, to_upstream) && pass_on(upstream, client, to_client));
}

template asio::awaitable<void> tunnel(tcp::socket&, tcp::socket&, std::string_view,
                                      std::string_view);
template asio::awaitable<void> tunnel(TlsStream&, tcp::socket&, std::string_view, std::string_view);

}  // namespace rp::proxy
