// The state of an App and its transitions, shared by the files that define them: app.cpp
// (starting, readiness, waiters, exits and restarts), app_ports.cpp (instances, their ports, the
// snapshot the proxy reads) and app_stop.cpp (stopping, and the controls of one process). Private
// to supervisor/app/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/app/app.hpp"
#include "supervisor/app/clock.hpp"
#include "supervisor/app/instance.hpp"
#include "supervisor/app/output.hpp"

namespace rp {

// A request (or `rp up -d`) waiting for the app to be ready.
struct Waiter {
  std::uint64_t id;
  std::function<void(BootResult)> done;
  std::unique_ptr<AppTimer> deadline;
};

struct App::Impl {
  Impl(boost::asio::io_context& io, AppContext& context, Project project, EnvMap inherited,
       AppOptions options);
  ~Impl();

  boost::asio::io_context& io;
  AppContext& ctx;
  Project project;
  EnvMap inherited;
  AppOptions options;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  std::string run_id;
  std::uint64_t runs = 0;
  AppClock::time_point phase_since = AppClock::now();
  std::shared_ptr<AppStatus> status;
  std::shared_ptr<AppActivity> activity;
  AppOutput output;

  std::vector<std::unique_ptr<Instance>> tasks;
  std::vector<std::unique_ptr<Instance>> services;
  std::size_t next_task = 0;

  std::vector<Waiter> waiters;
  std::uint64_t next_waiter = 0;
  // Which boot a readiness round belongs to: a new start, or rebuilt instances, void the old.
  std::uint64_t boot = 0;
  AppTimer probe_timer;
  AppClock::duration probe_delay{};
  int probes = 0;

  bool stopping_app = false;  // a stop of the whole app is under way
  AppClock::time_point stop_started;
  AppTimer stop_timer;
  std::vector<std::function<void()>> after_stop;

  // Every instance, tasks first.
  template <typename F>
  void each_instance(F&& f) {
    for (auto& inst : tasks) f(*inst);
    for (auto& inst : services) f(*inst);
  }
  std::vector<Instance*> instances_of(const std::string& process);
  std::vector<Instance*> web_instances();

  // --- app.cpp: phases, starting, readiness, waiters, exits ---
  void event(std::string text) { output.event(std::move(text)); }
  void set_phase(AppPhase phase);
  AppPhase phase() const { return activity->phase.load(); }
  void start();
  std::filesystem::path restart_file() const { return project.dir / "tmp" / "restart.txt"; }
  void note_restart_file();
  void note_tmp();  // whether the project has a tmp/, for the proxy to look at restart.txt
  void restart_if_touched(std::int64_t mtime);
  bool spawn(Instance& inst);
  void start_next_task();
  void start_services();
  void probe();
  void probe_round(std::uint64_t this_boot);
  void after_probes(std::uint64_t this_boot);
  void become_ready();
  BootResult ready_result() const;
  // `first`, if given, goes to the first waiter in place of `result`.
  void finish_waiters(const BootResult& result, std::optional<BootResult> first = std::nullopt);
  void fail_boot(std::string what, std::vector<std::string> log = {});
  void wake(std::function<void(BootResult)> done);
  bool on_child_exit(pid_t pid, int status);
  void forget_group(Instance& inst);
  void schedule_restart(Instance& inst, AppClock::time_point started);

  // --- app_ports.cpp: instances, ports, the snapshot ---
  void build_instances();
  int next_port(const Instance& inst, int taken);
  void release_ports();
  void check_ports();
  void publish();

  // --- app_stop.cpp: stopping, one process ---
  void stop_on_its_own(int code);
  void stop(std::function<void()> done);
  void begin_instance_stop(Instance& inst);
  void kill();
  void poll_stop();
  void instance_stopped(Instance& inst);
  void finish_stop();
  bool stop_process(const std::string& process, bool restart_after);
  bool start_process(const std::string& process);
};

}  // namespace rp
