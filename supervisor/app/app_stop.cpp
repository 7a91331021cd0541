// Stopping an app, and the controls of one of its processes. A stop sends each instance's
// stop_signal to its process group, sweeps processes that escaped their group (found by the
// run's RP_RUN_ID), and polls until all are gone, with SIGKILL for whatever outlives
// stop_timeout. Work queued behind a stop (a restart, a wake) runs once it is over.
#include <fmt/format.h>

#include <csignal>

#include "supervisor/app/app_impl.hpp"
#include "supervisor/app/process_host.hpp"

using namespace std::chrono_literals;

namespace rp {
namespace {

// How often a stop checks whether the processes are gone.
constexpr auto kStopPoll = 50ms;

}  // namespace

// The app ends itself (a task failed, --exit-on-error, nothing to run): listeners learn the exit
// status once everything is gone.
void App::Impl::stop_on_its_own(int code) {
  stop([this, code] {
    if (code != 0) set_phase(AppPhase::failed);
    output.end(code);
  });
}

void App::Impl::stop(std::function<void()> done) {
  if (done) after_stop.push_back(std::move(done));
  if (stopping_app) return;
  bool anything = false;
  each_instance([&](Instance& inst) { anything = anything || inst.has_processes(); });
  // One look through /proc: it reads every process's environment.
  const auto escaped = ctx.processes.escaped(run_id);
  if (!anything && escaped.empty()) {
    stopping_app = true;  // so that finish_stop's callbacks see a consistent state
    return finish_stop();
  }
  stopping_app = true;
  set_phase(AppPhase::stopping);
  stop_started = AppClock::now();
  probe_timer.cancel();
  each_instance([&](Instance& inst) {
    inst.timer.cancel();
    if (inst.state() == InstanceState::backing_off) inst.set_state(InstanceState::stopped);
    if (inst.has_processes()) begin_instance_stop(inst);
  });
  for (pid_t p : escaped) ctx.processes.signal(p, SIGTERM);
  poll_stop();
}

void App::Impl::begin_instance_stop(Instance& inst) {
  if (!inst.stopping_since) inst.stopping_since = AppClock::now();
  inst.timer.cancel();
  ctx.processes.signal_group(inst.group, inst.spec.stop_signal);
}

void App::Impl::kill() {
  each_instance([&](Instance& inst) { ctx.processes.signal_group(inst.group, SIGKILL); });
  for (pid_t p : ctx.processes.escaped(run_id)) ctx.processes.signal(p, SIGKILL);
}

void App::Impl::poll_stop() {
  const auto now = AppClock::now();
  bool waiting = false;
  Duration longest{0};
  each_instance([&](Instance& inst) {
    if (!inst.stopping_since) return;
    longest = std::max(longest, inst.spec.stop_timeout);
    // Gone when the leader is reaped (its exit is reported) and its group is empty.
    if (inst.pid <= 0 && (inst.group <= 0 || !ctx.processes.group_alive(inst.group))) {
      instance_stopped(inst);
      return;
    }
    if (now >= *inst.stopping_since + inst.spec.stop_timeout) {
      ctx.processes.signal_group(inst.group, SIGKILL);
    }
    waiting = true;
  });
  if (stopping_app) {
    auto escaped = ctx.processes.escaped(run_id);
    if (!escaped.empty()) {
      waiting = true;
      if (now >= stop_started + longest) {
        for (pid_t p : escaped) ctx.processes.signal(p, SIGKILL);
      }
    }
  }
  if (!waiting) {
    if (stopping_app) finish_stop();
    return;
  }
  stop_timer.expires_after(kStopPoll);
  stop_timer.async_wait([this, life = alive](boost::system::error_code ec) {
    if (!ec && *life) poll_stop();
  });
}

void App::Impl::instance_stopped(Instance& inst) {
  inst.stopping_since.reset();
  forget_group(inst);
  if (inst.output) inst.output->drain();
  inst.set_state(InstanceState::stopped);
  if (inst.restart_after_stop && !stopping_app) {
    inst.restart_after_stop = false;
    inst.policy = RestartPolicy{};
    if (!spawn(inst)) schedule_restart(inst, AppClock::now());
  }
}

void App::Impl::finish_stop() {
  stopping_app = false;
  each_instance([](Instance& inst) {
    if (inst.output) inst.output->drain();
    inst.set_state(InstanceState::stopped);
  });
  const bool was_running = phase() != AppPhase::stopped;
  set_phase(AppPhase::stopped);
  if (was_running) event("all processes stopped");
  if (!waiters.empty()) {
    // Nobody asked for this stop to be followed by a start: the boot is over.
    const bool restarting = !after_stop.empty();
    if (!restarting) fail_boot("The app stopped before it was ready.");
  }
  auto callbacks = std::move(after_stop);
  after_stop.clear();
  for (auto& c : callbacks) c();
}

// --- one process ------------------------------------------------------------------------------

bool App::Impl::stop_process(const std::string& process, bool restart_after) {
  auto found = instances_of(process);
  if (found.empty()) return false;
  for (Instance* inst : found) {
    inst->restart_after_stop = restart_after;
    if (inst->has_processes()) {
      begin_instance_stop(*inst);
    } else {
      inst->timer.cancel();
      inst->set_state(InstanceState::stopped);
      if (restart_after) {
        inst->restart_after_stop = false;
        inst->policy = RestartPolicy{};
        if (phase() != AppPhase::stopped && !spawn(*inst)) {
          schedule_restart(*inst, AppClock::now());
        }
      }
    }
  }
  poll_stop();
  return true;
}

bool App::Impl::start_process(const std::string& process) {
  auto found = instances_of(process);
  if (found.empty()) return false;
  if (phase() == AppPhase::stopped || phase() == AppPhase::failed) {
    start();
    return true;
  }
  for (Instance* inst : found) {
    if (inst->has_processes() || inst->is_task()) continue;
    inst->timer.cancel();
    inst->policy = RestartPolicy{};
    if (!spawn(*inst)) schedule_restart(*inst, AppClock::now());
  }
  return true;
}

}  // namespace rp
