#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "proxy/output.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A connected TCP pair on loopback: `out` is the side Output writes to.
struct Pair {
  asio::io_context io;
  tcp::socket out{io}, in{io};
  Pair() {
    tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
    out.connect(listener.local_endpoint());
    listener.accept(in);
  }
  std::string read_all(std::size_t n) {
    std::string got(n, '\0');
    asio::read(in, asio::buffer(got));
    return got;
  }
};

}  // namespace

TEST_CASE("output: try_flush sends the pieces in order when the socket takes them all") {
  Pair pair;
  rp::proxy::Output out;
  const std::string body = "hello";
  out.add_own([](std::string& s) { s += "HEAD\r\n"; });
  out.body(body, true);
  out.last_chunk();
  boost::system::error_code ec;
  REQUIRE(out.try_flush(pair.out, ec));
  CHECK_FALSE(ec);
  const std::string expected = "HEAD\r\n5\r\nhello\r\n0\r\n\r\n";
  CHECK(pair.read_all(expected.size()) == expected);
}

TEST_CASE("output: what a full socket did not take, flush() sends after, in order") {
  Pair pair;
  // Small buffers, but not so small that loopback TCP crawls (4 KiB took 80 s for 4 MiB).
  int small = 64 << 10;
  ::setsockopt(pair.out.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(pair.in.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // Bytes that differ along the way, in pieces of rp's own and views, several times what the
  // buffers hold: a piece lost, doubled or out of order shows.
  std::string body(1 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i * 7 % 26);
  rp::proxy::Output out;
  out.add_own([](std::string& s) { s += "HEAD\r\n"; });
  out.body(std::string_view(body).substr(0, body.size() / 2), false);
  out.add_own([](std::string& s) { s += "--"; });
  out.body(std::string_view(body).substr(body.size() / 2), false);
  const std::string expected =
      "HEAD\r\n" + body.substr(0, body.size() / 2) + "--" + body.substr(body.size() / 2);

  boost::system::error_code ec;
  REQUIRE_FALSE(out.try_flush(pair.out, ec));  // 1 MiB does not fit
  CHECK_FALSE(ec);
  std::string got;
  std::thread reader([&] { got = pair.read_all(expected.size()); });
  boost::system::error_code flushed = asio::error::would_block;
  auto rest = [&]() -> asio::awaitable<void> { flushed = co_await out.flush(pair.out); };
  asio::co_spawn(pair.io, rest(), asio::detached);
  pair.io.run();
  reader.join();
  CHECK_FALSE(flushed);
  CHECK(got == expected);
}
