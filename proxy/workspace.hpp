// What an HTTP/1.1 connection needs only while a request is in flight: the buffer of the client's
// bytes, the request parser, the output to the app and the relay of the app's answer (160 KiB of
// address space, a few pages of it touched). Each proxy thread lends them to its connections and
// takes them back when a connection falls quiet between requests, so an idle keep-alive
// connection holds none of it (docs/benchmarks.md, "Memory"), while a busy one reuses the same
// workspace request after request without allocating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/http/parser.hpp"
#include "proxy/output.hpp"
#include "proxy/response_relay.hpp"

namespace rp::proxy {

struct Workspace {
  static constexpr std::size_t kBufferSize = 80 * 1024;

  Workspace() : buffer(new char[kBufferSize]) {}

  std::unique_ptr<char[]> buffer;  // the client's bytes
  http::Parser parser{http::Parser::Kind::request};
  Output to_upstream;   // the request, then its body as it streams up
  ResponseRelay relay;  // the app's answer, back to the client
};

// One proxy thread's workspaces not lent at the moment. Not thread-safe: one per thread.
class WorkspacePool {
 public:
  std::unique_ptr<Workspace> take();
  void give_back(std::unique_ptr<Workspace> workspace);
  // Frees the spares (after a load, when the thread has fallen quiet).
  void clear() { spares_.clear(); }
  // How many were ever taken: a sign of life.
  std::uint64_t taken() const { return taken_; }
  std::size_t spares() const { return spares_.size(); }

 private:
  static constexpr std::size_t kMaxSpares = 16;
  std::vector<std::unique_ptr<Workspace>> spares_;
  std::uint64_t taken_ = 0;
};

}  // namespace rp::proxy
