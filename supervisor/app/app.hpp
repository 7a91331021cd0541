// One project's processes under the daemon, as one state machine: its tasks in order, then its
// services with their formation; restarts with back-off; readiness of the web process for the
// requests that wait on a boot (boot_timeout); stops that reach every process, in the group or
// escaped from it. Its phases (AppPhase) are what the proxy sees; its output goes to AppOutput.
//
// What it needs from outside comes in through AppContext: the operating system (ProcessHost),
// the readiness probe, the clock (AppClock). So its phases are unit-tested with fakes
// (tests/supervisor/app/test_app_phases.cpp), and the supervisor knows no HTTP.
//
// Everything here runs on the daemon's thread. What the proxy needs to see is published as an
// AppStatus snapshot with atomics inside.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "supervisor/app/app_status.hpp"
#include "supervisor/app/log_entry.hpp"
#include "supervisor/project/environment.hpp"
#include "supervisor/project/project.hpp"

namespace boost::asio {
class io_context;
}

namespace rp {

class ProcessHost;
class ReadinessProbe;

// What every app of the daemon shares.
struct AppContext {
  ProcessHost& processes;
  ReadinessProbe& readiness;
  std::string run_id_prefix;  // RP_RUN_ID of every process is this plus the app's run
  std::string url_suffix;     // ".test:7780": what follows an app's name in its URL
  PortRange port_range;
  std::set<int>& ports_in_use;  // by every app, so that two apps never share a port
  std::filesystem::path log_dir;
  RpEnvironment rp_environment;  // rp's CA and TLDs, for every process's environment
  // Called when an app publishes a new snapshot (its ports or definition changed).
  std::function<void()> on_status_change;
  std::string url_scheme = "http";  // "https" when the proxy serves no plain HTTP

  // The URL of the app, or of one of rp's names: "http://shop.test:7780".
  std::string url_of(std::string_view name) const {
    return url_scheme + "://" + std::string(name) + url_suffix;
  }
};

struct AppOptions {
  bool exit_on_error = false;  // foreman's behaviour: any exit stops all, with that status
};

class App {
 public:
  App(boost::asio::io_context& io, AppContext& context, Project project, EnvMap inherited,
      AppOptions options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  const std::string& name() const;
  const Project& project() const;
  const EnvMap& inherited() const;
  AppPhase phase() const;
  std::chrono::steady_clock::time_point phase_since() const;

  // The snapshot the proxy reads; a new one after reload().
  std::shared_ptr<const AppStatus> status() const;
  // Its activity, shared by every snapshot.
  const std::shared_ptr<AppActivity>& activity() const;

  // Starts every process (tasks first) unless it is already starting or running.
  void start();
  // Calls `done` once the web process is ready, the boot failed, or it took longer than
  // boot_timeout (BootOutcome); starts the app first when it is stopped.
  void wake(std::function<void(BootResult)> done);
  // Stops every process: the stop signal, then SIGKILL after stop_timeout. `done` runs once
  // everything is gone (at once when nothing runs).
  void stop(std::function<void()> done = {});
  // A stop already under way finishes with SIGKILL now.
  void kill();
  void restart();
  // tmp/restart.txt was touched (Pow's convention) and has modification time `mtime` (0: read it
  // now): a running app restarts, once per touch. A touch it has had (the file as it was when the
  // app started, or an earlier call: a request and the file watch may both report one) changes
  // nothing, and neither does one while it is stopped (its start will have the file as it is).
  void restart_if_touched(std::int64_t mtime = 0);

  // One process's instances. False when the app has no such process.
  bool start_process(const std::string& process);
  bool stop_process(const std::string& process);
  bool restart_process(const std::string& process);

  // A new definition (after its files changed): a running app restarts with it.
  void reload(Project project);
  // A new definition, environment and options for a stopped app (`rp up` taking over a linked
  // app). Ports are assigned anew.
  void redefine(Project project, EnvMap inherited, AppOptions options);
  // Tells the listeners the session is over (see AppListener::ended).
  void end(int exit_code);

  // True when `pid` was one of this app's processes; its exit is then handled.
  bool on_child_exit(pid_t pid, int status);

  // The last `n` lines of output and events, oldest first, optionally of one process only.
  std::vector<LogEntry> recent(std::size_t n, const std::string& process = {}) const;
  void listen(std::shared_ptr<AppListener> listener);
  void unlisten(const AppListener* listener);

  // An event of the daemon's about this app, shown and logged like the app's own.
  void event(std::string text);
  // Access lines of the proxy for this app: to the listeners and the log file, not to the ring
  // (a busy app would push its own output out of it).
  void access(std::vector<std::string> lines);

  struct InstanceInfo {
    std::string label;
    std::string process;
    InstanceState state;
    int port;
    pid_t pid;
    std::chrono::steady_clock::time_point started;
    int restarts;  // since the app started
  };
  std::vector<InstanceInfo> instances() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rp
