// The readiness probe the daemon gives every app (supervisor/app/readiness.hpp): the web process
// is ready when its port accepts a connection on 127.0.0.1 or ::1 and, with `ready: {http: PATH}`,
// answers a GET for PATH with a status below 500. It lives with the proxy because it speaks the
// proxy's HTTP and dials as the proxy does; the supervisor only sees yes or no.
#pragma once

#include "supervisor/app/readiness.hpp"

namespace boost::asio {
class io_context;
}

namespace rp::proxy {

class HttpReadinessProbe : public ReadinessProbe {
 public:
  explicit HttpReadinessProbe(boost::asio::io_context& io) : io_(io) {}
  void check(const ReadinessCheck& check, std::function<void(ReadinessAnswer)> done) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace rp::proxy
