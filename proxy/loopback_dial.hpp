// How rp connects to an app's port, for requests and readiness probes alike: on 127.0.0.1 and
// then ::1 (many dev servers bind only one of them), the family that answered last time first,
// all within one time limit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>

namespace rp::proxy {

struct Dialed {
  enum class Result { connected, refused, timed_out };
  Result result = Result::refused;
  boost::asio::ip::tcp::socket socket;
  int family = 0;     // 4 or 6 when connected
  std::string error;  // why not, address by address, for an error page
};

// `preferred_family` 6 tries ::1 first; anything else 127.0.0.1 first.
boost::asio::awaitable<Dialed> dial_loopback(int port, int preferred_family,
                                             std::chrono::steady_clock::duration limit);

}  // namespace rp::proxy
