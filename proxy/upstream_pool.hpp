// Connections to the app processes, per proxy thread: kept-alive connections are reused, new ones
// are dialled on loopback (proxy/loopback_dial.hpp; which family answered is remembered per
// instance), with a connect timeout.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proxy/loopback_dial.hpp"
#include "supervisor/app/app_status.hpp"

namespace rp::proxy {

// A connection to an app, as dial_loopback makes one, or from the pool.
struct Upstream : Dialed {
  bool reused = false;  // from the pool: the app may have closed it meanwhile
};

class UpstreamPool {
 public:
  explicit UpstreamPool(std::chrono::milliseconds connect_timeout)
      : connect_timeout_(connect_timeout) {}

  // A pooled connection to `instance` that still looks open; nullopt when there is none, and the
  // caller dials. (Two calls rather than one coroutine: taking one from the pool, what nearly
  // every request does, needs no coroutine frame.)
  std::optional<Upstream> take_idle(const std::shared_ptr<InstanceStatus>& instance);

  // A new connection to `instance`.
  boost::asio::awaitable<Upstream> dial(const std::shared_ptr<InstanceStatus>& instance);

  // Keeps a connection made elsewhere (the readiness probe's descriptor `fd`, of address
  // `family` 4 or 6) for the next request to `instance`; closes it if it cannot be taken.
  void adopt(const std::shared_ptr<InstanceStatus>& instance, int fd, int family,
             const boost::asio::any_io_executor& executor);

  // Keeps `socket` for the next request to `instance`.
  void release(const std::shared_ptr<InstanceStatus>& instance,
               boost::asio::ip::tcp::socket socket);

  // Closes the connections unused for longer than kIdleLife (the proxy thread calls it every
  // few seconds), so that what a burst of streams opened does not stay open for good.
  void prune(std::chrono::steady_clock::time_point now);

 private:
  struct Idle {
    boost::asio::ip::tcp::socket socket;
    std::chrono::steady_clock::time_point since;
  };
  // As many as a few HTTP/2 connections' streams use at once (128 each): 50 clients with 10
  // streams each keep 500 requests in flight, and a connection past the limit is closed and
  // dialled again for the next request, a connect and a close per request. What is kept past a
  // burst goes after kIdleLife.
  static constexpr std::size_t kMaxIdlePerInstance = 1024;
  static constexpr std::chrono::seconds kIdleLife{10};
  std::chrono::milliseconds connect_timeout_;
  std::unordered_map<InstanceStatus*, std::vector<Idle>> idle_;
};

}  // namespace rp::proxy
