// The access line of every request, in the app's output stream. Lines are gathered per proxy
// thread and written together every 50 ms (or sooner when 16 KiB are waiting): a write per
// request would be a system call per request. A terminal that stops reading (Ctrl-S) holds the
// lines back, then drops them past 1 MiB; it never holds a request back.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <string_view>

#include "supervisor/console.hpp"

namespace rp::proxy {

class AccessLog {
 public:
  AccessLog(boost::asio::any_io_executor executor, Console* console)
      : console_(console), timer_(executor) {}
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog() { flush(); }

  void add(std::string_view text);

 private:
  void arm();
  void flush();

  Console* console_;
  std::string pending_;
  std::size_t dropped_ = 0;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
};

}  // namespace rp::proxy
