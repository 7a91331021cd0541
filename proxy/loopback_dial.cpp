#include "proxy/loopback_dial.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <variant>

#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace rp::proxy {
namespace {

// A connect on loopback is nearly always settled by the time connect() returns: the SYN and
// its answer (SYN-ACK, or RST from a closed port) travel inside the call. So the socket is
// connected, or refused, or (rarely: the app's backlog is full) still on its way, without a trip
// through the reactor; only the last waits. A readiness probe then costs a few system calls, and
// a new connection to an app no wait at all.
struct Attempt {
  enum class Result { connected, refused, pending } result;
  int fd = -1;    // connected or pending: the socket
  int error = 0;  // refused: why
};

// How a connect on `fd` ended: 0, or the error it met (SO_ERROR).
int connect_error(int fd) {
  int error = 0;
  socklen_t size = sizeof error;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 ? error : errno;
}

Attempt connect_now(const tcp::endpoint& ep) {
  const int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {Attempt::Result::refused, -1, errno};
  if (::connect(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0) {
    return {Attempt::Result::connected, fd};
  }
  int error = errno;
  if (error == EINPROGRESS) {
    pollfd settled{fd, POLLOUT, 0};
    if (::poll(&settled, 1, 0) == 0) return {Attempt::Result::pending, fd};
    error = connect_error(fd);
    if (error == 0) return {Attempt::Result::connected, fd};
  }
  ::close(fd);
  return {Attempt::Result::refused, -1, error};
}

}  // namespace

asio::awaitable<Dialed> dial_loopback(int port, int preferred_family,
                                      std::chrono::steady_clock::duration limit) {
  auto executor = co_await asio::this_coro::executor;
  const auto p = static_cast<unsigned short>(port);
  const tcp::endpoint v4(asio::ip::address_v4::loopback(), p);
  const tcp::endpoint v6(asio::ip::address_v6::loopback(), p);
  const bool v6_first = preferred_family == 6;
  const tcp::endpoint order[] = {v6_first ? v6 : v4, v6_first ? v4 : v6};

  Dialed out{Dialed::Result::refused, tcp::socket(executor), 0, {}};
  std::optional<asio::steady_timer> timer;  // started by the first wait
  for (const auto& ep : order) {
    const Attempt attempt = connect_now(ep);
    boost::system::error_code ec(attempt.error, boost::system::system_category());
    tcp::socket s(executor);
    if (attempt.fd >= 0) {
      s.assign(ep.protocol(), attempt.fd, ec);
      if (ec) ::close(attempt.fd);  // the socket did not take it (the reactor refused it)
    }
    if (!ec && attempt.result == Attempt::Result::pending) {
      if (!timer) timer.emplace(executor, limit);
      auto result =
          co_await (s.async_wait(tcp::socket::wait_write, nothrow) || timer->async_wait(nothrow));
      if (result.index() == 1) {
        out.result = Dialed::Result::timed_out;
        out.error = "the app did not accept the connection in time";
        co_return out;
      }
      ec = std::get<0>(std::get<0>(result));
      if (!ec) ec.assign(connect_error(s.native_handle()), boost::system::system_category());
    }
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
