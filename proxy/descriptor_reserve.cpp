#include "proxy/descriptor_reserve.hpp"

#include <sys/resource.h>

#include <boost/asio/ip/udp.hpp>
#include <climits>
#include <system_error>
#include <thread>
#include <vector>

namespace rp::proxy {

DescriptorReserve::DescriptorReserve(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), files_limit_(1024) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files_limit_ = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > LLONG_MAX
                       ? LLONG_MAX
                       : static_cast<long long>(files.rlim_cur);
  }
}

void DescriptorReserve::make_batch() {
  // UDP sockets, the cheapest to open: every kind of socket gets the same record, made when it
  // opens and put back on the reactor's free list when it closes. They are opened on a thread of
  // their own, which glibc gives an arena of its own: there the records lie side by side, apart
  // from the connections' memory (made on the proxy thread, they filled the holes that
  // connections had left, and pinned as many pages as before).
  auto make = [this] {
    std::vector<boost::asio::ip::udp::socket> batch;
    batch.reserve(kBatch);
    boost::system::error_code ec;
    for (int i = 0; i < kBatch; ++i) {
      batch.emplace_back(executor_).open(boost::asio::ip::udp::v4(), ec);
      if (ec) break;  // out of descriptors: what was made still helps
    }
    for (auto& socket : batch) socket.close(ec);
  };
  try {
    std::thread(make).join();
  } catch (const std::system_error&) {
    // No thread to be had: no batch this time.
  }
  // Counted whole even when cut short, so that a shortage of descriptors or threads does not
  // bring a batch per connection.
  made_ += kBatch;
}

}  // namespace rp::proxy
