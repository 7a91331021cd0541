// A limit on a whole exchange over one socket, where no single operation's timeout says it: at
// the deadline the socket is closed, so whatever waits on it ends with an error. It may be
// destroyed at any time, even with its timer's handler already queued: it then touches nothing.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace rp::proxy {

template <typename Socket>
class SocketDeadline {
 public:
  SocketDeadline(Socket& socket, std::chrono::steady_clock::time_point when)
      : timer_(socket.get_executor(), when) {
    timer_.async_wait([&socket, armed = armed_](boost::system::error_code ec) {
      if (ec || !*armed) return;
      boost::system::error_code ignored;
      socket.close(ignored);
    });
  }
  ~SocketDeadline() { cancel(); }
  // No limit any more: what follows may take as long as it takes.
  void cancel() {
    *armed_ = false;
    timer_.cancel();
  }
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;

 private:
  std::shared_ptr<bool> armed_ = std::make_shared<bool>(true);
  boost::asio::steady_timer timer_;
};

}  // namespace rp::proxy
