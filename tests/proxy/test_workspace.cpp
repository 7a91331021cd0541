#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "proxy/workspace.hpp"

using rp::proxy::WorkspacePool;
using Status = rp::http::Parser::Status;

TEST_CASE("a workspace given back is lent again, its parser ready for a new request") {
  WorkspacePool pool;
  auto first = pool.take();
  auto* address = first.get();
  // Left mid-way through a broken request, as a connection cut short leaves it.
  REQUIRE(first->parser.feed("GET / HTTP/1.1\r\nHo st: x\r\n\r\n").status == Status::error);
  pool.give_back(std::move(first));

  auto again = pool.take();
  CHECK(again.get() == address);
  const auto step = again->parser.feed("GET /next HTTP/1.1\r\nHost: a.test\r\n\r\n");
  CHECK(step.status == Status::head_done);
  CHECK(again->parser.head().target == "/next");
  CHECK(pool.taken() == 2);
}

TEST_CASE("the pool keeps a few spares, and lets go of them when told") {
  WorkspacePool pool;
  std::vector<std::unique_ptr<rp::proxy::Workspace>> lent;
  for (int i = 0; i < 40; ++i) lent.push_back(pool.take());
  for (auto& w : lent) pool.give_back(std::move(w));
  CHECK(pool.spares() == 16);
  pool.clear();
  CHECK(pool.spares() == 0);
}
