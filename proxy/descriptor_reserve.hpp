// Asio's epoll reactor keeps a record (about 200 bytes) for each socket open on its thread, and
// keeps the record of a closed socket for the next one rather than freeing it. Made one at a time
// as connections arrive, each record lands among its connection's other memory; once the
// connections close, that memory is free but every page holding a record stays with the daemon:
// 30 MB after 10,000 idle connections (docs/benchmarks.md, "Memory"). So each proxy thread makes
// the records ahead, in batches: when its connections come near the records it has made, it opens
// a batch of sockets and closes them at once, which leaves their records side by side, on few
// pages, for the connections to come.
#pragma once

#include <boost/asio/any_io_executor.hpp>

namespace rp::proxy {

class DescriptorReserve {
 public:
  static constexpr int kBatch = 64;

  // The open-files limit is read here (rp raises it at start).
  explicit DescriptorReserve(boost::asio::any_io_executor executor);

  // A connection opened on this thread; the process has `connections` client connections in all.
  // A batch borrows its descriptors for a moment, so none is made when the process could then
  // run short of them (each connection holds two: the client's and the app's).
  void opened(int connections) {
    ++open_;
    if (open_ + kHeadroom > made_ && 2 * connections + kBatch + kSpare < files_limit_) {
      make_batch();
    }
  }
  void closed() { --open_; }

  int made() const { return made_; }

 private:
  // Sockets the thread holds beyond its client connections: listeners, connections to apps.
  static constexpr int kHeadroom = 32;
  // Descriptors the daemon keeps for its own files, listeners and the apps' pipes (as
  // effective_max_connections does).
  static constexpr int kSpare = 128;

  void make_batch();

  boost::asio::any_io_executor executor_;
  long long files_limit_;
  int open_ = 0;
  int made_ = 0;
};

}  // namespace rp::proxy
