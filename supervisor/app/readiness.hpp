// How an app learns that its web process is ready, without knowing how that is asked: the
// daemon gives it a probe (proxy/readiness_probe.hpp connects on 127.0.0.1 and ::1 and, with
// `ready: {http: PATH}`, asks for PATH over HTTP), the unit tests a fake. The supervisor knows
// no HTTP.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace rp {

struct ReadinessCheck {
  int port = 0;
  std::optional<std::string> http_path;  // rp.yaml `ready: {http: PATH}`
  std::string host;                      // the Host to ask with: the app's name
};

struct ReadinessAnswer {
  bool ready = false;
  int family = 0;  // 4 or 6: the loopback address that answered (0: none), for the proxy's pool
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
