// The daemon's entry point, apart from what it is made of (daemon.hpp), so that `rp daemon`'s
// command (daemon_command.cpp) needs none of the daemon's parts to start one.
#pragma once

#include "supervisor/project/dotenv.hpp"

namespace rp::cmd {

// `rp daemon --foreground`, and the child of a background start: runs the daemon in this
// process until it stops. `ready_fd` (or -1) hears how the start went: "ok PID", "running PID"
// (another daemon has RP_HOME) or "error WHY".
int serve(const EnvMap& env, int ready_fd);

}  // namespace rp::cmd
