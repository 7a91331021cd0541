// One instance of one process of an app ("web.2"): what it runs, the process that runs it now,
// its restart policy and timer, and the InstanceStatus the proxy reads. The app (app.cpp) moves
// it between states; this is only its record.
#pragma once

#include <fmt/format.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "supervisor/app/app_status.hpp"
#include "supervisor/app/backoff.hpp"
#include "supervisor/app/clock.hpp"
#include "supervisor/app/output.hpp"
#include "supervisor/app/readiness.hpp"
#include "supervisor/project/project.hpp"

namespace rp {

struct Instance {
  Instance(boost::asio::io_context& io, const ProcessSpec& s, int n, int c)
      : spec(s),
        number(n),
        color(c),
        label(fmt::format("{}.{}", s.name, n)),
        timer(io),
        status(std::make_shared<InstanceStatus>()) {
    status->process = s.name;
    status->label = label;
    status->state = InstanceState::stopped;
  }

  void set_state(InstanceState state) { status->state.store(state); }
  InstanceState state() const { return status->state.load(); }
  bool is_task() const { return spec.kind == ProcessKind::task; }
  // Still has something to stop: the leader, or members left in its group.
  bool has_processes() const { return pid > 0 || group > 0; }

  ProcessSpec spec;
  int number;
  int color;
  std::string label;
  pid_t pid = -1;    // the leader, also the process group id, while it runs
  pid_t group = -1;  // the last group, kept after the leader exits so a stop can sweep it
  AppClock::time_point started;
  int restarts = 0;  // spawns after the first of this run of the app
  bool spawned_this_run = false;
  RestartPolicy policy;
  AppTimer timer;  // restart back-off
  std::shared_ptr<OutputReader> output;
  std::shared_ptr<InstanceStatus> status;  // what the proxy sees
  bool ready = false;                      // the readiness probe passed for this run
  std::shared_ptr<HeldConnection> held;    // the probe's connection, until the app is ready
  std::optional<AppClock::time_point> stopping_since;
  bool restart_after_stop = false;  // `rp restart APP/PROC`: start again once gone
};

}  // namespace rp
