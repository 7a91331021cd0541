#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "proxy/upstream_pool.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using rp::proxy::Upstream;
using rp::proxy::UpstreamPool;

namespace {

// A listening "app" on loopback (the kernel completes connections without an accept), its
// instance, and a pool, on one io_context run to completion for each step.
struct Fixture {
  asio::io_context io;
  tcp::acceptor app{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::shared_ptr<rp::InstanceStatus> instance = std::make_shared<rp::InstanceStatus>();
  UpstreamPool pool{std::chrono::seconds(2)};

  Fixture() { instance->port = app.local_endpoint().port(); }

  // A kept connection if the pool has one, else a new one, as the proxy takes them.
  Upstream acquire() {
    std::optional<Upstream> got = pool.take_idle(instance);
    if (got) return std::move(*got);
    auto dial = [&]() -> asio::awaitable<void> { got.emplace(co_await pool.dial(instance)); };
    asio::co_spawn(io, dial(), asio::detached);
    io.restart();
    io.run();
    REQUIRE(got);
    return std::move(*got);
  }

  // `n` connections in use at once, all released: how many of them were reused.
  int burst(int n) {
    std::vector<Upstream> held;
    int reused = 0;
    for (int i = 0; i < n; ++i) {
      held.push_back(acquire());
      REQUIRE(held.back().result == Upstream::Result::connected);
      reused += held.back().reused;
    }
    for (auto& u : held) pool.release(instance, std::move(u.socket));
    return reused;
  }
};

}  // namespace

TEST_CASE("the upstream pool keeps the connections of a burst of 300 for the next one") {
  // 300 requests in flight at once, as 50 HTTP/2 connections with 10 streams each make (more
  // than the 256 an earlier limit kept: the rest were dialled anew for every request).
  Fixture f;
  CHECK(f.burst(300) == 0);
  CHECK(f.burst(300) == 300);
}

TEST_CASE("the upstream pool closes the connections unused for 10 s") {
  Fixture f;
  f.burst(3);
  f.pool.prune(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  CHECK(f.burst(3) == 3);  // 5 s idle: kept
  f.pool.prune(std::chrono::steady_clock::now() + std::chrono::seconds(11));
  CHECK(f.burst(3) == 0);  // 11 s idle: closed, dialled anew
}
