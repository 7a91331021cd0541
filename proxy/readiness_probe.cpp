#include "proxy/readiness_probe.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "proxy/http/parser.hpp"
#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace rp::proxy {
namespace {

// A probe that gets no status line in this long counts as "not yet".
constexpr auto kProbeTimeout = std::chrono::seconds(2);

// Whether the response to a readiness GET, read from `socket`, has a status below 500.
asio::awaitable<bool> answers_below_500(tcp::socket& socket) {
  http::Parser parser(http::Parser::Kind::response);
  std::array<char, 4096> buffer;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
    if (ec) co_return false;
    auto step = parser.feed({buffer.data(), n});
    if (step.status == http::Parser::Status::error) co_return false;
    if (!parser.in_head() || step.status != http::Parser::Status::need_more) {
      const int status = parser.head().status;
      co_return status > 0 && status < 500;
    }
  }
}

asio::awaitable<ReadinessAnswer> probe(ReadinessCheck check) {
  auto executor = co_await asio::this_coro::executor;
  for (auto address : {asio::ip::address(asio::ip::address_v4::loopback()),
                       asio::ip::address(asio::ip::address_v6::loopback())}) {
    tcp::socket socket(executor);
    // A server that does not accept (a full backlog) or accepts and never answers must not hold
    // the probe: past the limit the socket is closed, and the probe says "not yet".
    asio::steady_timer limit(executor, kProbeTimeout);
    limit.async_wait([&socket](boost::system::error_code e) {
      if (!e) socket.close();
    });
    auto [ec] = co_await socket.async_connect(
        tcp::endpoint(address, static_cast<std::uint16_t>(check.port)), nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return ReadinessAnswer{};  // timed out
      continue;
    }
    ReadinessAnswer answer{true, address.is_v4() ? 4 : 6};
    if (!check.http_path) co_return answer;
    const std::string request = fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rp-readiness\r\nConnection: close\r\n\r\n",
        *check.http_path, check.host);
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(request), nothrow);
    if (wec) co_return ReadinessAnswer{false, answer.family};
    answer.ready = co_await answers_below_500(socket);
    co_return answer;
  }
  co_return ReadinessAnswer{};
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
