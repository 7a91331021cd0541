// What the proxy's threads may ask of the supervisor, which lives on the daemon's thread: to wake
// an app, and to take the access lines of its requests. Every call posts to the daemon's thread
// and returns at once; this is the only way into the supervisor from another thread (the other
// way, the supervisor publishes route snapshots: docs/architecture.md, "Threads"). Apps
// implements it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "supervisor/app/app_status.hpp"

namespace rp {

// One request's line in its app's output (proxy/access_log.hpp gathers them).
struct AccessLine {
  std::string app;
  std::string text;
};

class SupervisorLink {
 public:
  virtual ~SupervisorLink() = default;
  // Starts `app` if need be. `done` runs on the daemon's thread once its web process is ready or
  // the boot failed; requests that arrive meanwhile share the one boot. `restart_touched`: the
  // request found tmp/restart.txt touched, with this modification time (AppStatus::
  // restart_touched): the app restarts first, unless that touch has restarted it already.
  virtual void wake(const std::string& app, std::int64_t restart_touched,
                    std::function<void(BootResult)> done) = 0;
  // Lines for the apps' output, in the order they were made.
  virtual void access(std::vector<AccessLine> lines) = 0;
};

}  // namespace rp
