#include "proxy/readiness_probe.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include "proxy/http/message.hpp"
#include "proxy/loopback_dial.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/socket_deadline.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace rp::proxy {
namespace {

// A probe that gets no status line in this long counts as "not yet".
constexpr auto kProbeTimeout = std::chrono::seconds(2);

// Whether the response to a readiness GET, read from `socket`, has a status below 500.
asio::awaitable<bool> answers_below_500(tcp::socket& socket) {
  http::ResponseReader reader;
  std::array<char, 4096> buffer;
  while (!reader.has_head()) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
    if (ec) co_return false;
    reader.feed({buffer.data(), n});
    if (reader.failed()) co_return false;
  }
  const int status = reader.head().status;
  co_return status > 0 && status < 500;
}

asio::awaitable<ReadinessAnswer> probe(ReadinessCheck check) {
  const auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
  auto dialed = co_await dial_loopback(check.port, 0, kProbeTimeout);
  if (dialed.result != Dialed::Result::connected) co_return ReadinessAnswer{};
  ReadinessAnswer answer{true, dialed.family, nullptr};
  if (!check.http_path) {
    // Kept for the request that woke the app (supervisor/app/readiness.hpp).
    boost::system::error_code ec;
    const int fd = dialed.socket.release(ec);
    if (!ec) answer.connection = std::make_shared<HeldConnection>(fd, dialed.family);
    co_return answer;
  }
  // An app that accepts and never answers must not hold the probe: at the deadline the socket is
  // closed, and the probe says "not yet".
  tcp::socket& socket = dialed.socket;
  SocketDeadline limit(socket, deadline);
  const std::string request = http::request_head(
      "GET", *check.http_path,
      {{"Host", check.host}, {"User-Agent", "rp-readiness"}, {"Connection", "close"}});
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(request), nothrow);
  if (ec) co_return ReadinessAnswer{false, answer.family, nullptr};
  answer.ready = co_await answers_below_500(socket);
  co_return answer;
}

}  // namespace

void HttpReadinessProbe::check(const ReadinessCheck& check,
                               std::function<void(ReadinessAnswer)> done) {
  asio::co_spawn(io_, probe(check),
                 [done = std::move(done)](std::exception_ptr error, ReadinessAnswer answer) {
                   done(error ? ReadinessAnswer{} : answer);
                 });
}

}  // namespace rp::proxy
