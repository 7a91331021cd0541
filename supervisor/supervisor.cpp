#include "supervisor/supervisor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>
#include <set>

#include "supervisor/app_status.hpp"
#include "supervisor/backoff.hpp"
#include "supervisor/environment.hpp"
#include "supervisor/line_splitter.hpp"
#include "supervisor/ports.hpp"
#include "supervisor/process_tree.hpp"
#include "supervisor/signals.hpp"
#include "supervisor/spawn.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp {
namespace {

// How long a partial line waits for its newline before it is shown anyway.
constexpr auto kPartialLineDelay = 200ms;
// How often a stop checks whether the processes are gone.
constexpr auto kStopPoll = 50ms;

// "exited with status 1" / "killed by SIGKILL", and the status a shell would report.
std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by " + signal_name(WTERMSIG(status));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}
int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

// Reads one run of one process's output and prints it line by line. It lives until the pipe
// closes, which may be after the process itself exited (a child of it may still write).
class OutputReader : public std::enable_shared_from_this<OutputReader> {
 public:
  OutputReader(asio::io_context& io, int fd, Console& console, std::string label, int color,
               std::shared_ptr<InstanceStatus> status)
      : pipe_(io, fd),
        flush_timer_(io),
        console_(console),
        label_(std::move(label)),
        color_(color),
        status_(std::move(status)) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  void start() { read(); }

  // Prints everything already in the pipe, now: a process that exited has written all it will,
  // and its last lines belong before the line saying it exited.
  void drain() {
    if (!pipe_.is_open()) return;
    ssize_t n;
    while ((n = ::read(pipe_.native_handle(), buffer_.data(), buffer_.size())) > 0) {
      print(splitter_.feed({buffer_.data(), static_cast<std::size_t>(n)}));
    }
    if (splitter_.has_partial()) show(splitter_.take_partial());
  }

 private:
  // Kept before shown: whoever reads the console (a test, a user) may ask for an error page
  // right away, and it must have the line.
  void show(std::string line) {
    status_->log.push(line);
    console_.line(label_, color_, line);
  }

  void read() {
    pipe_.async_read_some(asio::buffer(buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (n > 0) print(splitter_.feed({buffer_.data(), n}));
    if (ec) {  // EOF: every writer is gone
      if (splitter_.has_partial()) show(splitter_.take_partial());
      flush_timer_.cancel();
      pipe_.close();
      return;
    }
    if (splitter_.has_partial()) {
      flush_timer_.expires_after(kPartialLineDelay);
      flush_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e && self->splitter_.has_partial()) self->show(self->splitter_.take_partial());
      });
    }
    read();
  }

  void print(std::vector<std::string> lines) {
    for (auto& l : lines) show(std::move(l));
  }

  asio::readable_pipe pipe_;
  asio::steady_timer flush_timer_;
  Console& console_;
  std::string label_;
  int color_;
  std::shared_ptr<InstanceStatus> status_;
  LineSplitter splitter_;
  std::array<char, 16384> buffer_{};
};

// One instance of one process: "web.2".
struct Instance {
  Instance(asio::io_context& io, const ProcessSpec& s, int n, int c)
      : spec(&s),
        number(n),
        color(c),
        label(fmt::format("{}.{}", s.name, n)),
        timer(io),
        status(std::make_shared<InstanceStatus>()) {
    status->process = s.name;
    status->label = label;
  }

  void set_state(InstanceState state) { status->state.store(state); }

  const ProcessSpec* spec;
  int number;
  int color;
  std::string label;
  pid_t pid = -1;    // the leader, also the process group id, while it runs
  pid_t group = -1;  // the last group, kept after the leader exits so a stop can sweep it
  Clock::time_point started;
  RestartPolicy policy;
  asio::steady_timer timer;  // restart back-off
  std::shared_ptr<OutputReader> output;
  std::shared_ptr<InstanceStatus> status;  // what the proxy sees
};

}  // namespace

std::string new_run_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

struct Supervisor::Impl {
  Impl(asio::io_context& io_, Project project_, EnvMap inherited_, const GlobalConfig& global,
       SupervisorOptions options_, Console& console_, Guardian& guardian_, std::string run_id_)
      : io(io_),
        project(std::move(project_)),
        inherited(std::move(inherited_)),
        options(options_),
        console(console_),
        guardian(guardian_),
        run_id(std::move(run_id_)),
        stop_signals(io_, SIGINT, SIGTERM, SIGHUP),
        child_signal(io_, SIGCHLD),
        stop_timer(io_) {
    http_port = effective_http_port(global);
    url = fmt::format("http://{}.{}", project.name, global.tlds.front());
    // Port 0 turns the proxy off: the name is still the app's, but no port would reach it.
    if (http_port != 80 && http_port != 0) url += fmt::format(":{}", http_port);
    port_range = global.port_range;
    instances_built = build_instances();
    auto app = std::make_shared<AppStatus>();
    app->name = project.name;
    app->aliases = project.aliases;
    app->web = project.web;
    for (auto& inst : services) app->instances.push_back(inst->status);
    status = app;
  }

  asio::io_context& io;
  Project project;
  EnvMap inherited;
  SupervisorOptions options;
  Console& console;
  Guardian& guardian;
  std::string run_id;
  std::string url;
  int http_port = 0;
  PortRange port_range;
  bool instances_built = false;
  std::shared_ptr<const AppStatus> status;

  asio::signal_set stop_signals;
  asio::signal_set child_signal;
  asio::steady_timer stop_timer;

  std::vector<std::unique_ptr<Instance>> tasks;
  std::vector<std::unique_ptr<Instance>> services;
  std::size_t next_task = 0;
  bool stopping = false;
  bool killing = false;
  Clock::time_point stop_started;
  Duration longest_stop_timeout{0};
  int exit_code = 0;

  int run() {
    if (!instances_built) return 1;
    watch_signals();
    reap_children();
    if (tasks.empty()) {
      start_services();
    } else {
      start_next_task();
    }
    io.run();
    return exit_code;
  }

  // Instances and their ports, decided once: a restarted instance keeps its port.
  bool build_instances() {
    std::set<int> assigned;
    int color = 0;
    auto add = [&](const ProcessSpec& spec, std::vector<std::unique_ptr<Instance>>& into) {
      for (int n = 1; n <= spec.count; ++n) {
        auto inst = std::make_unique<Instance>(io, spec, n, color);
        auto port = assign_port(project.name, spec.name, n, port_range, assigned, port_is_free);
        if (!port) {
          console.event(fmt::format("no free port for {} in {}-{}", inst->label, port_range.first,
                                    port_range.last));
          return false;
        }
        inst->status->port = *port;
        assigned.insert(*port);
        console.set_width(inst->label.size());
        into.push_back(std::move(inst));
      }
      ++color;
      return true;
    };
    for (const auto& t : project.tasks) {
      if (!add(t, tasks)) return false;
    }
    for (const auto& s : project.services) {
      if (!add(s, services)) return false;
    }
    return true;
  }

  void watch_signals() {
    stop_signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (!stopping) {
        console.event(
            fmt::format("{} received, stopping (again to kill at once)", signal_name(sig)));
        begin_stop();
      } else if (!killing) {
        console.event(fmt::format("{} received again, killing", signal_name(sig)));
        kill_everything();
      }
      watch_signals();
    });
  }

  // rp is the subreaper of everything it starts, so it reaps orphans too; their status is
  // nobody's business, but a zombie left unreaped would linger.
  void reap_children() {
    child_signal.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      int status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (Instance* inst = find_by_pid(pid)) on_exit(*inst, status);
      }
      reap_children();
    });
  }

  Instance* find_by_pid(pid_t pid) {
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->pid == pid) return inst.get();
      }
    }
    return nullptr;
  }

  bool start(Instance& inst) {
    InstanceIdentity who{project.name, inst.spec->name, inst.number, inst.status->port,
                         url,          run_id};
    SpawnRequest request{inst.spec->command,
                         environment_block(process_environment(inherited, project.env, who)),
                         project.dir};
    std::string error;
    auto spawned = spawn_process(io, request, error);
    if (!spawned) {
      console.event(fmt::format("{} could not start: {}", inst.label, error));
      return false;
    }
    inst.pid = inst.group = spawned->pid;
    inst.set_state(InstanceState::running);
    inst.started = Clock::now();
    guardian.watch(inst.group);
    inst.output = std::make_shared<OutputReader>(io, spawned->output_fd, console, inst.label,
                                                 inst.color, inst.status);
    inst.output->start();
    console.event(
        fmt::format("{} started (pid {}, port {})", inst.label, inst.pid, inst.status->port));
    return true;
  }

  void start_next_task() {
    if (stopping) return;
    if (next_task == tasks.size()) return start_services();
    Instance& task = *tasks[next_task];
    if (!start(task)) {
      exit_code = 127;
      begin_stop();
    }
  }

  void start_services() {
    std::size_t started = 0;
    for (auto& inst : services) {
      if (start(*inst)) {
        ++started;
      } else {
        schedule_restart(*inst, Clock::now());
      }
    }
    if (services.empty()) {
      console.event("no services to run");
      return begin_stop();
    }
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - options.started_at);
    console.event(fmt::format("{} of {} processes started in {} ms; {}", started, services.size(),
                              ms.count(),
                              http_port == 0 ? "HTTP is off (http_port 0)"
                                             : fmt::format("{} is at {}", project.name, url)));
  }

  void on_exit(Instance& inst, int status) {
    if (inst.output) inst.output->drain();
    inst.pid = -1;
    const bool is_task = inst.spec->kind == ProcessKind::task;
    if (!stopping) {
      // What the leader left behind in its group goes with it: a service restarts whole. The
      // group id is then let go, so no later signal can reach a group that reuses the number.
      ::kill(-inst.group, SIGKILL);
      guardian.forget(inst.group);
      inst.group = -1;
    }
    console.event(fmt::format("{} {}", inst.label, describe_status(status)));
    if (stopping) {
      inst.set_state(InstanceState::stopped);
      return;
    }
    if (is_task) {
      inst.set_state(InstanceState::stopped);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ++next_task;
        return start_next_task();
      }
      console.event(fmt::format("task {} failed; not starting the services", inst.spec->name));
      exit_code = exit_code_of(status);
      return begin_stop();
    }
    if (options.exit_on_error) {
      console.event(
          fmt::format("--exit-on-error: stopping everything because {} exited", inst.label));
      exit_code = exit_code_of(status);
      return begin_stop();
    }
    schedule_restart(inst, inst.started);
  }

  void schedule_restart(Instance& inst, Clock::time_point started) {
    auto decision = inst.policy.on_exit(started, Clock::now());
    if (decision.crashed) {
      inst.set_state(InstanceState::crashed);
      console.event(fmt::format(
          "{} crashed: it exited {} times within a minute; not restarting it (fix it, then restart "
          "rp)",
          inst.label, RestartPolicy::kCrashExits));
      return;
    }
    inst.set_state(InstanceState::backing_off);
    console.event(fmt::format("restarting {} in {}", inst.label, format_duration(decision.delay)));
    inst.timer.expires_after(decision.delay);
    inst.timer.async_wait([this, &inst](boost::system::error_code ec) {
      if (ec || stopping) return;
      if (!start(inst)) schedule_restart(inst, Clock::now());
    });
  }

  // The stop: the stop signal to every group and to descendants that left their group, then
  // SIGKILL to whatever is still there when its stop_timeout ends.
  void begin_stop() {
    stopping = true;
    stop_started = Clock::now();
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        inst->timer.cancel();
        if (inst->group > 0) ::kill(-inst->group, inst->spec->stop_signal);
        longest_stop_timeout = std::max(longest_stop_timeout, inst->spec->stop_timeout);
      }
    }
    for (pid_t p : live_marked_processes(run_id)) ::kill(p, SIGTERM);
    poll_stop();
  }

  void kill_everything() {
    killing = true;
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->group > 0) ::kill(-inst->group, SIGKILL);
      }
    }
    for (pid_t p : live_marked_processes(run_id)) ::kill(p, SIGKILL);
  }

  void poll_stop() {
    const auto now = Clock::now();
    bool alive = false;
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->group <= 0) continue;
        // Done when the leader is reaped (its exit is reported) and its group is empty.
        if (inst->pid <= 0 && live_group_members(inst->group).empty()) continue;
        if (now >= stop_started + inst->spec->stop_timeout) ::kill(-inst->group, SIGKILL);
        alive = true;
      }
    }
    auto marked = live_marked_processes(run_id);
    if (!marked.empty()) {
      alive = true;
      if (now >= stop_started + longest_stop_timeout) {
        for (pid_t p : marked) ::kill(p, SIGKILL);
      }
    }
    if (!alive) return finish();
    stop_timer.expires_after(kStopPoll);
    stop_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) poll_stop();
    });
  }

  void finish() {
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->output) inst->output->drain();
      }
    }
    guardian.release();  // everything is gone: the guardian exits without acting
    console.event("all processes stopped");
    io.stop();
  }
};

Supervisor::Supervisor(asio::io_context& io, Project project, EnvMap inherited,
                       const GlobalConfig& global, SupervisorOptions options, Console& console,
                       Guardian& guardian, std::string run_id)
    : impl_(std::make_unique<Impl>(io, std::move(project), std::move(inherited), global, options,
                                   console, guardian, std::move(run_id))) {}

Supervisor::~Supervisor() = default;

int Supervisor::run() {
  return impl_->run();
}

std::shared_ptr<const AppStatus> Supervisor::status() const {
  return impl_->status;
}

}  // namespace rp
