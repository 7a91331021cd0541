// Runs one project in the foreground: its tasks in order, then its services with their
// formation, restarting services that exit (back-off, then "crashed"), streaming every line of
// output through the Console, and stopping everything — process groups, descendants that left
// them, processes that ignore the stop signal — on Ctrl-C, SIGTERM or SIGHUP.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "supervisor/app_status.hpp"
#include "supervisor/console.hpp"
#include "supervisor/global_config.hpp"
#include "supervisor/guardian.hpp"
#include "supervisor/project.hpp"

namespace boost::asio {
class io_context;
}

namespace rp {

struct SupervisorOptions {
  bool exit_on_error = false;  // foreman's behaviour: any exit stops all, with that status
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
};

class Supervisor {
 public:
  Supervisor(boost::asio::io_context& io, Project project, EnvMap inherited,
             const GlobalConfig& global, SupervisorOptions options, Console& console,
             Guardian& guardian, std::string run_id);
  ~Supervisor();

  // Runs until everything has stopped; the exit status for `rp up`.
  int run();

  // The app as the proxy sees it: names, instances, their ports, states and recent output.
  std::shared_ptr<const AppStatus> status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A fresh RP_RUN_ID: random, so two runs never claim each other's processes.
std::string new_run_id();

}  // namespace rp
