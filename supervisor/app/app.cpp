// An app's phase machine: stopped -> starting (tasks in order, then services, then readiness of
// the web process) -> ready; an exit restarts the instance after a back-off, and too many exits
// within a minute leave it crashed (the app failed, when it is the web process). Requests that
// arrive meanwhile wait as Waiters until ready, a failure or boot_timeout. Stopping and the
// controls of one process are in app_stop.cpp, instances and their ports in app_ports.cpp.
#include "supervisor/app/app.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <csignal>

#include "supervisor/app/app_impl.hpp"
#include "supervisor/app/process_host.hpp"
#include "supervisor/app/readiness.hpp"
#include "supervisor/project/environment.hpp"
#include "supervisor/project/signals.hpp"

using namespace std::chrono_literals;

namespace rp {
namespace {

// Readiness is probed every 100 us for the first 25 ms (a probe is a connect on loopback, settled
// inside the call: five system calls a family, about 10 us; and a request is waiting: a small
// server listens within a millisecond or two of its start), then less and less often, up to
// every 100 ms.
constexpr auto kFirstProbeDelay = 100us;
constexpr int kEagerProbes = 250;
constexpr auto kMaxProbeDelay = 100ms;

// "exited with status 1" / "killed by SIGKILL".
std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by " + signal_name(WTERMSIG(status));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

// The status a shell would report.
int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

App::Impl::Impl(boost::asio::io_context& io_, AppContext& context_, Project project_,
                EnvMap inherited_, AppOptions options_)
    : io(io_),
      ctx(context_),
      project(std::move(project_)),
      inherited(std::move(inherited_)),
      options(options_),
      activity(std::make_shared<AppActivity>()),
      output(io_, ctx.log_dir / (project.name + ".log")),
      probe_timer(io_),
      stop_timer(io_) {
  activity->phase = AppPhase::stopped;
  build_instances();
}

App::Impl::~Impl() {
  *alive = false;
  fail_boot("The app was removed from rp while it started.");
  each_instance([](Instance& inst) {
    if (inst.output) inst.output->close();
  });
  release_ports();
}

std::vector<Instance*> App::Impl::instances_of(const std::string& process) {
  std::vector<Instance*> out;
  each_instance([&](Instance& inst) {
    if (inst.spec.name == process) out.push_back(&inst);
  });
  return out;
}

std::vector<Instance*> App::Impl::web_instances() {
  std::vector<Instance*> out;
  for (auto& inst : services) {
    if (inst->spec.name == project.web) out.push_back(inst.get());
  }
  return out;
}

void App::Impl::set_phase(AppPhase p) {
  if (activity->phase.load() == p) return;
  activity->phase.store(p);
  phase_since = AppClock::now();
}

// --- starting ---------------------------------------------------------------------------------

void App::Impl::start() {
  const auto p = phase();
  if (p == AppPhase::starting || p == AppPhase::ready) return;
  if (p == AppPhase::stopping) {
    after_stop.push_back([this] { start(); });
    return;
  }
  ++runs;
  run_id = fmt::format("{}{}-{}", ctx.run_id_prefix, project.name, runs);
  next_task = 0;
  ++boot;
  note_restart_file();
  set_phase(AppPhase::starting);
  each_instance([](Instance& inst) {
    inst.policy = RestartPolicy{};
    inst.restarts = 0;
    inst.spawned_this_run = false;
    inst.ready = false;
    inst.held.reset();
    inst.restart_after_stop = false;
  });
  check_ports();
  if (tasks.empty()) {
    start_services();
  } else {
    start_next_task();
  }
}

// --- tmp/restart.txt --------------------------------------------------------------------------

// The file as it is when the app starts is no touch to restart for; and whether there is a tmp/,
// for the proxy to look at the file at all.
void App::Impl::note_restart_file() {
  note_tmp();
  activity->restart_seen.store(modification_time(restart_file().c_str()));
}

void App::Impl::note_tmp() {
  std::error_code ec;
  activity->has_tmp.store(std::filesystem::is_directory(restart_file().parent_path(), ec));
}

void App::Impl::restart_if_touched(std::int64_t mtime) {
  if (!activity->has_tmp.load()) note_tmp();
  if (mtime == 0) mtime = modification_time(restart_file().c_str());
  const auto p = phase();
  if (mtime == 0 || mtime == activity->restart_seen.load()) return;
  if (p == AppPhase::stopped || p == AppPhase::failed) return;
  activity->restart_seen.store(mtime);
  event("tmp/restart.txt was touched: restarting");
  stop([this] { start(); });
}

bool App::Impl::spawn(Instance& inst) {
  InstanceIdentity who{project.name,      inst.spec.name,           inst.number,
                       inst.status->port, ctx.url_of(project.name), run_id};
  SpawnRequest request{
      inst.spec.command,
      environment_block(process_environment(inherited, project.env, ctx.rp_environment, who)),
      project.dir};
  std::string error;
  auto spawned = ctx.processes.spawn(request, error);
  if (!spawned) {
    event(fmt::format("{} could not start: {}", inst.label, error));
    return false;
  }
  inst.pid = inst.group = spawned->pid;
  if (inst.spawned_this_run) ++inst.restarts;
  inst.spawned_this_run = true;
  inst.ready = false;
  inst.held.reset();
  inst.set_state(InstanceState::running);
  inst.started = AppClock::now();
  ctx.processes.adopt(inst.group);
  if (inst.output) inst.output->close();
  inst.output =
      std::make_shared<OutputReader>(io, spawned->output_fd, [this, &inst](std::string line) {
        inst.status->log.push(line);
        output.add({std::chrono::system_clock::now(), inst.label, inst.color, std::move(line)});
      });
  inst.output->start();
  if (inst.is_task()) {
    event(fmt::format("{} started (pid {})", inst.label, inst.pid));
  } else {
    event(fmt::format("{} started (pid {}, port {})", inst.label, inst.pid, inst.status->port));
  }
  return true;
}

void App::Impl::start_next_task() {
  if (phase() != AppPhase::starting) return;
  if (next_task == tasks.size()) return start_services();
  if (!spawn(*tasks[next_task])) {
    fail_boot(fmt::format("task {} could not start", tasks[next_task]->label));
    stop_on_its_own(127);
  }
}

void App::Impl::start_services() {
  std::size_t started = 0;
  for (auto& inst : services) {
    if (spawn(*inst)) {
      ++started;
    } else {
      schedule_restart(*inst, AppClock::now());
    }
  }
  if (services.empty()) {
    event("no services to run");
    return stop_on_its_own(0);
  }
  event(fmt::format("{} of {} processes started; {} is at {}", started, services.size(),
                    project.name, ctx.url_of(project.name)));
  probe();
}

// --- readiness --------------------------------------------------------------------------------

// The app is ready when every web instance that runs has passed its probe (and one does).
void App::Impl::probe() {
  if (web_instances().empty()) return become_ready();
  probe_delay = std::chrono::duration_cast<AppClock::duration>(kFirstProbeDelay);
  probes = 0;
  probe_round(boot);
}

// Asks the probe about every running web instance not yet ready, all at once.
void App::Impl::probe_round(std::uint64_t this_boot) {
  if (boot != this_boot || phase() != AppPhase::starting) return;
  std::vector<Instance*> asking;
  for (Instance* inst : web_instances()) {
    if (inst->state() == InstanceState::running && !inst->ready) asking.push_back(inst);
  }
  if (asking.empty()) return after_probes(this_boot);
  auto pending = std::make_shared<std::size_t>(asking.size());
  for (Instance* inst : asking) {
    ReadinessCheck check{inst->status->port, inst->spec.ready_http, project.name + ctx.url_suffix};
    // The instance is only touched while this boot lasts (rebuilt instances bump `boot`), and an
    // answer counts only for the process it asked about, not one respawned meanwhile.
    ctx.readiness.check(check, [this, life = alive, this_boot, inst, pid = inst->pid,
                                status = inst->status, pending](ReadinessAnswer answer) {
      if (!*life || boot != this_boot) return;
      if (answer.family != 0) status->family.store(answer.family);
      if (inst->status == status && inst->pid == pid) {
        inst->ready = answer.ready;
        inst->held = std::move(answer.connection);
      }
      if (--*pending == 0) after_probes(this_boot);
    });
  }
}

void App::Impl::after_probes(std::uint64_t this_boot) {
  if (boot != this_boot || phase() != AppPhase::starting) return;
  bool all = true, any = false;
  for (Instance* inst : web_instances()) {
    if (inst->state() == InstanceState::running && inst->ready) {
      any = true;
    } else {
      all = false;
    }
  }
  if (all && any) return become_ready();
  probe_timer.expires_after(probe_delay);
  probe_timer.async_wait([this, life = alive, this_boot](boost::system::error_code ec) {
    if (!ec && *life) probe_round(this_boot);
  });
  if (++probes > kEagerProbes) {
    probe_delay = std::min<AppClock::duration>(probe_delay * 2, kMaxProbeDelay);
  }
}

void App::Impl::become_ready() {
  if (phase() != AppPhase::starting) return;
  set_phase(AppPhase::ready);
  event(web_instances().empty() ? std::string("ready") : fmt::format("{} is ready", project.web));
  // With one web instance, the probe's connection goes to the request that woke the app (the
  // first waiter); the others' probes are closed.
  const auto web = web_instances();
  BootResult first = ready_result();
  if (web.size() == 1) {
    first.connection = std::move(web.front()->held);
    first.connection_to = web.front()->status;
  }
  for (Instance* inst : web) inst->held.reset();
  finish_waiters(ready_result(), std::move(first));
}

// --- waiters ----------------------------------------------------------------------------------

BootResult App::Impl::ready_result() const {
  BootResult r;
  r.app = status;
  return r;
}

void App::Impl::finish_waiters(const BootResult& result, std::optional<BootResult> first) {
  auto done = std::move(waiters);
  waiters.clear();
  for (auto& w : done) {
    w.deadline->cancel();
    if (first) {
      w.done(std::move(*first));
      first.reset();
    } else {
      w.done(result);
    }
  }
}

void App::Impl::fail_boot(std::string what, std::vector<std::string> log) {
  finish_waiters(BootResult::failure(BootOutcome::failed, std::move(what), std::move(log)));
}

void App::Impl::wake(std::function<void(BootResult)> done) {
  const auto p = phase();
  if (p == AppPhase::ready) return done(ready_result());
  const auto id = next_waiter++;
  auto deadline = std::make_unique<AppTimer>(io, project.boot_timeout);
  deadline->async_wait([this, id, life = alive](boost::system::error_code ec) {
    if (ec || !*life) return;
    for (auto it = waiters.begin(); it != waiters.end(); ++it) {
      if (it->id != id) continue;
      auto w = std::move(*it);
      waiters.erase(it);
      w.done(
          BootResult::failure(BootOutcome::timed_out,
                              fmt::format("{} was not ready within {} (boot_timeout in rp.yaml).",
                                          project.web.empty() ? project.name : project.web,
                                          format_duration(project.boot_timeout))));
      return;
    }
  });
  waiters.push_back({id, std::move(done), std::move(deadline)});
  if (p == AppPhase::failed) {
    // Crashed for good, or its task failed: a new request is a new try.
    return stop([this] { start(); });
  }
  start();  // no-op while starting; after a stop under way, once it ends
}

// --- exits ------------------------------------------------------------------------------------

bool App::Impl::on_child_exit(pid_t pid, int exit_status) {
  Instance* found = nullptr;
  each_instance([&](Instance& inst) {
    if (inst.pid == pid) found = &inst;
  });
  if (!found) return false;
  Instance& inst = *found;
  if (inst.output) inst.output->drain();
  inst.pid = -1;
  const bool stopping_it = stopping_app || inst.stopping_since.has_value();
  if (!stopping_it) {
    // What the leader left behind in its group goes with it: a service restarts whole. The
    // group id is then let go, so no later signal can reach a group that reuses the number.
    ctx.processes.signal_group(inst.group, SIGKILL);
    forget_group(inst);
  }
  event(fmt::format("{} {}", inst.label, describe_status(exit_status)));
  if (stopping_it) return true;  // the stop's poll marks it stopped once its group is empty

  if (inst.is_task()) {
    inst.set_state(InstanceState::stopped);
    if (WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) {
      ++next_task;
      start_next_task();
      return true;
    }
    event(fmt::format("task {} failed; not starting the services", inst.spec.name));
    std::vector<std::string> tail;
    for (auto& line : inst.status->log.tail(20)) tail.push_back(inst.label + " | " + line);
    fail_boot(fmt::format("Task {} {} before the services could start.", inst.label,
                          describe_status(exit_status)),
              std::move(tail));
    stop_on_its_own(exit_code_of(exit_status));
    return true;
  }
  if (options.exit_on_error) {
    event(fmt::format("--exit-on-error: stopping everything because {} exited", inst.label));
    stop_on_its_own(exit_code_of(exit_status));
    return true;
  }
  if (phase() == AppPhase::starting && inst.spec.name == project.web) {
    fail_boot(fmt::format("{} {} before it was ready.", inst.label, describe_status(exit_status)));
  }
  schedule_restart(inst, inst.started);
  return true;
}

void App::Impl::forget_group(Instance& inst) {
  if (inst.group <= 0) return;
  ctx.processes.release(inst.group);
  inst.group = -1;
}

void App::Impl::schedule_restart(Instance& inst, AppClock::time_point started) {
  auto decision = inst.policy.on_exit(started, AppClock::now());
  if (decision.crashed) {
    inst.set_state(InstanceState::crashed);
    event(fmt::format(
        "{} crashed: it exited {} times within a minute; not restarting it (fix it, then `rp "
        "restart {}`)",
        inst.label, RestartPolicy::kCrashExits, project.name));
    if (inst.spec.name == project.web) set_phase(AppPhase::failed);
    return;
  }
  inst.set_state(InstanceState::backing_off);
  event(fmt::format("restarting {} in {}", inst.label, format_duration(decision.delay)));
  inst.timer.expires_after(decision.delay);
  inst.timer.async_wait([this, &inst](boost::system::error_code ec) {
    if (ec || stopping_app || inst.stopping_since) return;
    if (!spawn(inst)) {
      schedule_restart(inst, AppClock::now());
    } else if (phase() == AppPhase::failed || phase() == AppPhase::starting) {
      if (inst.spec.name == project.web) {
        set_phase(AppPhase::starting);
        probe();
      }
    }
  });
}

// --- App --------------------------------------------------------------------------------------

App::App(boost::asio::io_context& io, AppContext& context, Project project, EnvMap inherited,
         AppOptions options)
    : impl_(
          std::make_unique<Impl>(io, context, std::move(project), std::move(inherited), options)) {}

App::~App() = default;

const std::string& App::name() const {
  return impl_->project.name;
}
const Project& App::project() const {
  return impl_->project;
}
const EnvMap& App::inherited() const {
  return impl_->inherited;
}
AppPhase App::phase() const {
  return impl_->phase();
}
std::chrono::steady_clock::time_point App::phase_since() const {
  return impl_->phase_since;
}
std::shared_ptr<const AppStatus> App::status() const {
  return impl_->status;
}
const std::shared_ptr<AppActivity>& App::activity() const {
  return impl_->activity;
}

void App::start() {
  impl_->start();
}
void App::wake(std::function<void(BootResult)> done) {
  impl_->wake(std::move(done));
}
void App::stop(std::function<void()> done) {
  impl_->stop(std::move(done));
}
void App::kill() {
  impl_->kill();
}
void App::restart() {
  impl_->stop([this] { impl_->start(); });
}
void App::restart_if_touched(std::int64_t mtime) {
  impl_->restart_if_touched(mtime);
}

bool App::start_process(const std::string& process) {
  return impl_->start_process(process);
}
bool App::stop_process(const std::string& process) {
  return impl_->stop_process(process, false);
}
bool App::restart_process(const std::string& process) {
  return impl_->stop_process(process, true);
}

void App::redefine(Project project, EnvMap inherited, AppOptions options) {
  impl_->project = std::move(project);
  impl_->inherited = std::move(inherited);
  impl_->options = options;
  impl_->build_instances();
}

void App::end(int exit_code) {
  impl_->output.end(exit_code);
}

void App::reload(Project project) {
  const bool was_up = impl_->phase() != AppPhase::stopped && impl_->phase() != AppPhase::failed;
  auto apply = [this, p = std::move(project), was_up]() mutable {
    impl_->project = std::move(p);
    impl_->build_instances();
    if (was_up) impl_->start();
  };
  if (was_up) {
    impl_->event("the project's files changed: restarting with the new definition");
    impl_->stop(std::move(apply));
  } else {
    apply();
  }
}

bool App::on_child_exit(pid_t pid, int status) {
  return impl_->on_child_exit(pid, status);
}

std::vector<LogEntry> App::recent(std::size_t n, const std::string& process) const {
  return impl_->output.recent(n, process);
}

void App::listen(std::shared_ptr<AppListener> listener) {
  impl_->output.listen(std::move(listener));
}

void App::unlisten(const AppListener* listener) {
  impl_->output.unlisten(listener);
}

void App::event(std::string text) {
  impl_->event(std::move(text));
}

void App::access(std::vector<std::string> lines) {
  const auto now = std::chrono::system_clock::now();
  for (auto& line : lines) impl_->output.add({now, "http", -1, std::move(line)}, false);
}

std::vector<App::InstanceInfo> App::instances() const {
  std::vector<InstanceInfo> out;
  impl_->each_instance([&](Instance& inst) {
    out.push_back({inst.label, inst.spec.name, inst.state(), inst.status->port, inst.pid,
                   inst.started, inst.restarts});
  });
  return out;
}

}  // namespace rp
