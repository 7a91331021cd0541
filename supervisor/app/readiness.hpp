// How an app learns that its web process is ready, without knowing how that is asked: the
// daemon gives it a probe (proxy/readiness_probe.hpp connects on 127.0.0.1 and ::1 and, with
// `ready: {http: PATH}`, asks for PATH over HTTP), the unit tests a fake. The supervisor knows
// no HTTP.
#pragma once

#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace rp {

struct ReadinessCheck {
  int port = 0;
  std::optional<std::string> http_path;  // rp.yaml `ready: {http: PATH}`
  std::string host;                      // the Host to ask with: the app's name
};

// The probe's connection, left open for the request that woke the app: one connection fewer
// for the app to accept, and one fewer for the proxy to make, on a cold start. A descriptor,
// closed when nobody takes it.
class HeldConnection {
 public:
  HeldConnection(int fd, int family) : fd_(fd), family_(family) {}
  ~HeldConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  HeldConnection(const HeldConnection&) = delete;
  HeldConnection& operator=(const HeldConnection&) = delete;

  // The descriptor, now the caller's to close (-1 when taken before).
  int take() { return std::exchange(fd_, -1); }
  int family() const { return family_; }

 private:
  int fd_;
  int family_;  // 4 or 6
};

struct ReadinessAnswer {
  bool ready = false;
  int family = 0;  // 4 or 6: the loopback address that answered (0: none), for the proxy's pool
  // When readiness was a connection alone (no `ready: {http: …}`): that connection, unused.
  std::shared_ptr<HeldConnection> connection;
};

class ReadinessProbe {
 public:
  virtual ~ReadinessProbe() = default;
  // Asks once; `done` runs later on the caller's io_context, never from inside check(). A probe
  // that gets no answer gives up on its own (a full backlog, an app that accepts and never
  // answers) and answers "not ready".
  virtual void check(const ReadinessCheck& check, std::function<void(ReadinessAnswer)> done) = 0;
};

}  // namespace rp
