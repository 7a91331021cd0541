// rp's TLS stream against OpenSSL's client through Asio's ssl::stream, on a loopback connection:
// the handshake with SNI, a request read, an answer written from many pieces (small ones gathered
// into records, large ones sealed straight, more than one write's limit), close_notify; and no
// OpenSSL call on a socket that was closed.
#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "proxy/nothrow.hpp"
#include "proxy/tls/local_ca.hpp"
#include "proxy/tls/tls_context.hpp"
#include "proxy/tls/tls_stream.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using rp::proxy::nothrow;
using rp::tls::TlsStream;

namespace {

struct Fixture {
  rp::test::TempDir home;
  std::unique_ptr<rp::tls::TlsContext> server_context;
  asio::io_context io;
  asio::ssl::context client_context{asio::ssl::context::tls_client};
  std::unique_ptr<TlsStream> server;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> client;

  Fixture() {
    std::string error;
    auto ca = rp::tls::LocalCa::open(home.path / "ca", {"test"}, error);
    INFO(error);
    REQUIRE(ca);
    server_context = std::make_unique<rp::tls::TlsContext>(
        std::move(*ca), std::vector<std::string>{"test"}, [](const std::string&) {});
    tcp::acceptor listener(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket near(io), far(io);
    near.connect(listener.local_endpoint());
    listener.accept(far);
    server = std::make_unique<TlsStream>(std::move(far), server_context->context());
    client = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(near), client_context);
    SSL_set_tlsext_host_name(client->native_handle(), "shop.test");
  }
};

// Bytes that differ along the way, so that a piece lost, doubled or moved shows.
std::string varied(std::size_t size, int seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

}  // namespace

TEST_CASE("tls stream: handshake, a request, an answer of many pieces, close_notify") {
  Fixture f;
  // 300 small pieces, a large one past one write's limit, and a small tail.
  std::vector<std::string> pieces;
  for (int i = 0; i < 300; ++i) pieces.push_back(varied(1 + i % 97, i));
  pieces.push_back(varied(600 * 1024, 5));
  pieces.push_back(varied(10, 9));
  std::string expected;
  for (const auto& p : pieces) expected += p;

  std::string request_seen, answer_seen;
  boost::system::error_code server_error, client_end;
  bool server_done = false;
  auto serve = [&]() -> asio::awaitable<void> {
    auto [hec] = co_await f.server->async_handshake(TlsStream::Role::server, nothrow);
    if (hec) {
      server_error = hec;
      co_return;
    }
    char buffer[64];
    while (request_seen.find("\r\n\r\n") == std::string::npos) {
      auto [ec, n] = co_await f.server->async_read_some(asio::buffer(buffer), nothrow);
      if (ec) {
        server_error = ec;
        co_return;
      }
      request_seen.append(buffer, n);
    }
    std::vector<asio::const_buffer> gathered;
    for (const auto& p : pieces) gathered.push_back(asio::buffer(p));
    auto [wec, written] = co_await asio::async_write(*f.server, gathered, nothrow);
    if (wec || written != expected.size()) {
      server_error = wec ? wec : asio::error::message_size;
      co_return;
    }
    SSL_set_shutdown(f.server->native_handle(), SSL_RECEIVED_SHUTDOWN);
    auto [sec] = co_await f.server->async_shutdown(nothrow);
    server_error = sec;
    server_done = true;
  };
  auto ask = [&]() -> asio::awaitable<void> {
    auto [hec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, nothrow);
    if (hec) {
      client_end = hec;
      co_return;
    }
    const std::string request = "GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n";
    co_await asio::async_write(*f.client, asio::buffer(request), nothrow);
    std::vector<char> buffer(17000);
    for (;;) {
      auto [ec, n] = co_await f.client->async_read_some(asio::buffer(buffer), nothrow);
      answer_seen.append(buffer.data(), n);
      if (ec) {
        client_end = ec;
        co_return;
      }
    }
  };
  asio::co_spawn(f.io, serve(), asio::detached);
  asio::co_spawn(f.io, ask(), asio::detached);
  f.io.run();

  INFO(server_error.message());
  CHECK_FALSE(server_error);
  CHECK(server_done);
  CHECK(request_seen == "GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n");
  CHECK(answer_seen.size() == expected.size());
  CHECK(answer_seen == expected);
  // The end came as close_notify: a clean end of stream, not a truncation.
  CHECK(client_end == asio::error::eof);
}

TEST_CASE("tls stream: a foreign name ends the handshake, nothing is read after") {
  Fixture f;
  SSL_set_tlsext_host_name(f.client->native_handle(), "bank.example");
  boost::system::error_code server_end, client_end;
  auto serve = [&]() -> asio::awaitable<void> {
    auto [ec] = co_await f.server->async_handshake(TlsStream::Role::server, nothrow);
    server_end = ec;
  };
  auto ask = [&]() -> asio::awaitable<void> {
    auto [ec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, nothrow);
    client_end = ec;
  };
  asio::co_spawn(f.io, serve(), asio::detached);
  asio::co_spawn(f.io, ask(), asio::detached);
  f.io.run();
  CHECK(server_end);
  CHECK(client_end);  // the alert reached the client
}

TEST_CASE("tls stream: once its socket is closed, no operation touches the descriptor") {
  Fixture f;
  f.server->next_layer().close();
  boost::system::error_code read_end, write_end;
  auto use = [&]() -> asio::awaitable<void> {
    char buffer[16];
    auto [rec, n] = co_await f.server->async_read_some(asio::buffer(buffer), nothrow);
    read_end = rec;
    auto [wec, w] = co_await f.server->async_write_some(asio::buffer("x", 1), nothrow);
    write_end = wec;
  };
  asio::co_spawn(f.io, use(), asio::detached);
  f.io.run();
  CHECK(read_end == asio::error::bad_descriptor);
  CHECK(write_end == asio::error::bad_descriptor);
}

TEST_CASE("tls stream: a busy connection keeps OpenSSL's buffers until it has been quiet") {
  // Exchanges of a line each way; the server says after each whether it keeps its buffers, and
  // tidies up when the test says, as the proxy thread does every few seconds.
  Fixture f;
  const auto releasing = [&] {
    return (SSL_get_mode(f.server->native_handle()) & SSL_MODE_RELEASE_BUFFERS) != 0;
  };
  std::vector<bool> kept;  // after each exchange
  std::vector<std::string> echoed;
  boost::system::error_code server_error, client_error;
  constexpr int kExchanges = 12;
  auto serve = [&]() -> asio::awaitable<void> {
    auto [hec] = co_await f.server->async_handshake(TlsStream::Role::server, nothrow);
    if (hec) {
      server_error = hec;
      co_return;
    }
    for (int i = 0; i < kExchanges; ++i) {
      if (i == 10) {
        f.server->tidy();  // operations since the last call: it goes on keeping them
        CHECK(f.server->keeps_buffers());
        f.server->tidy();  // none since: they go
        CHECK_FALSE(f.server->keeps_buffers());
        CHECK(releasing());
      }
      char buffer[64];
      auto [ec, n] = co_await f.server->async_read_some(asio::buffer(buffer), nothrow);
      if (ec) {
        server_error = ec;
        co_return;
      }
      auto [wec, w] = co_await asio::async_write(*f.server, asio::buffer(buffer, n), nothrow);
      if (wec) {
        server_error = wec;
        co_return;
      }
      kept.push_back(f.server->keeps_buffers());
      CHECK(releasing() != f.server->keeps_buffers());
    }
  };
  auto ask = [&]() -> asio::awaitable<void> {
    auto [hec] = co_await f.client->async_handshake(asio::ssl::stream_base::client, nothrow);
    if (hec) {
      client_error = hec;
      co_return;
    }
    for (int i = 0; i < kExchanges; ++i) {
      const std::string line = "line " + std::to_string(i) + "\n";
      co_await asio::async_write(*f.client, asio::buffer(line), nothrow);
      std::string back(line.size(), '\0');
      auto [ec, n] = co_await asio::async_read(*f.client, asio::buffer(back), nothrow);
      if (ec) {
        client_error = ec;
        co_return;
      }
      echoed.push_back(back);
    }
  };
  asio::co_spawn(f.io, serve(), asio::detached);
  asio::co_spawn(f.io, ask(), asio::detached);
  f.io.run();

  INFO(server_error.message() << " / " << client_error.message());
  CHECK_FALSE(server_error);
  CHECK_FALSE(client_error);
  REQUIRE(echoed.size() == kExchanges);
  for (int i = 0; i < kExchanges; ++i) CHECK(echoed[i] == "line " + std::to_string(i) + "\n");
  // A read and a write each: the fourth exchange makes eight, and from then on the buffers stay,
  // until the tidying before the eleventh; they come back after another eight operations.
  REQUIRE(kept.size() == kExchanges);
  CHECK(kept == std::vector<bool>{false, false, false, true, true, true, true, true, true, true,
                                  false, false});
}
