#include "supervisor/app/app.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "supervisor/app/backoff.hpp"
#include "supervisor/app/line_splitter.hpp"
#include "supervisor/app/log_file.hpp"
#include "supervisor/app/ports.hpp"
#include "supervisor/process/guardian.hpp"
#include "supervisor/process/port_owner.hpp"
#include "supervisor/process/process_tree.hpp"
#include "supervisor/process/spawn.hpp"
#include "supervisor/project/environment.hpp"
#include "supervisor/project/signals.hpp"
#include "supervisor/state/group_record.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp {
namespace {

// How long a partial line waits for its newline before it is shown anyway.
constexpr auto kPartialLineDelay = 200ms;
// How often a stop checks whether the processes are gone.
constexpr auto kStopPoll = 50ms;
// Readiness is probed every millisecond for the first 50 (a connect to a closed port costs tens
// of microseconds, and a request is waiting), then less and less often, up to every 100 ms.
constexpr auto kFirstProbeDelay = 1ms;
constexpr int kEagerProbes = 50;
constexpr auto kMaxProbeDelay = 100ms;
// A readiness request that gets no status line in this long counts as "not yet".
constexpr auto kProbeTimeout = 2s;
// The lines of output and events an app keeps for `rp logs` (DESIGN.md: the last 1000).
constexpr std::size_t kRecentLines = 1000;
// Log file writes are gathered for this long, or this much.
constexpr auto kLogBatchDelay = 100ms;
constexpr std::size_t kLogBatchBytes = 64 * 1024;

// "exited with status 1" / "killed by SIGKILL", and the status a shell would report.
std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "killed by " + signal_name(WTERMSIG(status));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}
int exit_code_of(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

// Reads one run of one process's output and hands it on line by line. It lives until the pipe
// closes, which may be after the process itself exited (a child of it may still write).
class OutputReader : public std::enable_shared_from_this<OutputReader> {
 public:
  using Sink = std::function<void(std::string)>;

  OutputReader(asio::io_context& io, int fd, Sink sink)
      : pipe_(io, fd), flush_timer_(io), sink_(std::move(sink)) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  void start() { read(); }

  // Hands on everything already in the pipe, now: a process that exited has written all it
  // will, and its last lines belong before the line saying it exited.
  void drain() {
    if (!pipe_.is_open()) return;
    ssize_t n;
    while ((n = ::read(pipe_.native_handle(), buffer_.data(), buffer_.size())) > 0) {
      print(splitter_.feed({buffer_.data(), static_cast<std::size_t>(n)}));
    }
    if (splitter_.has_partial()) sink_(splitter_.take_partial());
  }

  // The app is going away: nothing more is handed on.
  void close() {
    flush_timer_.cancel();
    if (pipe_.is_open()) pipe_.close();
    sink_ = [](std::string) {};
  }

 private:
  void read() {
    pipe_.async_read_some(asio::buffer(buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (n > 0) print(splitter_.feed({buffer_.data(), n}));
    if (ec) {  // EOF: every writer is gone
      if (splitter_.has_partial()) sink_(splitter_.take_partial());
      flush_timer_.cancel();
      pipe_.close();
      return;
    }
    if (splitter_.has_partial()) {
      flush_timer_.expires_after(kPartialLineDelay);
      flush_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e && self->splitter_.has_partial()) self->sink_(self->splitter_.take_partial());
      });
    }
    read();
  }

  void print(std::vector<std::string> lines) {
    for (auto& l : lines) sink_(std::move(l));
  }

  asio::readable_pipe pipe_;
  asio::steady_timer flush_timer_;
  Sink sink_;
  LineSplitter splitter_;
  std::array<char, 16384> buffer_{};
};

// One instance of one process: "web.2".
struct Instance {
  Instance(asio::io_context& io, const ProcessSpec& s, int n, int c)
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
  Clock::time_point started;
  RestartPolicy policy;
  asio::steady_timer timer;  // restart back-off
  std::shared_ptr<OutputReader> output;
  std::shared_ptr<InstanceStatus> status;  // what the proxy sees
  bool ready = false;                      // the readiness probe passed for this run
  std::optional<Clock::time_point> stopping_since;
  bool restart_after_stop = false;  // `rp restart APP/PROC`: start again once gone
};

// A request (or `rp up -d`) waiting for the app to be ready.
struct Waiter {
  std::uint64_t id;
  std::function<void(BootResult)> done;
  std::unique_ptr<asio::steady_timer> deadline;
};

// Asks `port` whether the app behind it is ready: it accepts a connection on 127.0.0.1 or ::1,
// and, with a readiness path, answers a GET for it with a status below 500. Which loopback
// address answered goes into `family`, for the proxy's pool.
asio::awaitable<bool> probe_ready(int port, std::optional<std::string> path, std::string host,
                                  std::atomic<int>& family) {
  auto executor = co_await asio::this_coro::executor;
  for (auto address : {asio::ip::address(asio::ip::address_v4::loopback()),
                       asio::ip::address(asio::ip::address_v6::loopback())}) {
    tcp::socket socket(executor);
    // A server that does not accept (a full backlog) or accepts and never answers must not hold
    // the probe: past the limit the socket is closed, and the probe says "not yet".
    asio::steady_timer limit(executor, kProbeTimeout);
    limit.async_wait([&socket](boost::system::error_code e) {
      if (!e) socket.close();
    });
    auto [ec] = co_await socket.async_connect(tcp::endpoint(address, static_cast<uint16_t>(port)),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return false;  // timed out
      continue;
    }
    family.store(address.is_v4() ? 4 : 6);
    if (!path) co_return true;
    std::string request = fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rp-readiness\r\nConnection: close\r\n\r\n",
        *path, host);
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(request),
                                                asio::as_tuple(asio::use_awaitable));
    if (wec) co_return false;
    asio::streambuf reply(4096);
    auto [rec, rn] =
        co_await asio::async_read_until(socket, reply, "\r\n", asio::as_tuple(asio::use_awaitable));
    if (rec) co_return false;
    std::string line(asio::buffers_begin(reply.data()), asio::buffers_begin(reply.data()) + rn);
    int code = 0;
    if (std::sscanf(line.c_str(), "HTTP/%*d.%*d %d", &code) != 1) co_return false;
    co_return code > 0 && code < 500;
  }
  co_return false;
}

}  // namespace

struct App::Impl {
  Impl(asio::io_context& io_, AppContext& context_, Project project_, EnvMap inherited_,
       AppOptions options_)
      : io(io_),
        ctx(context_),
        project(std::move(project_)),
        inherited(std::move(inherited_)),
        options(options_),
        stop_timer(io_),
        log_timer(io_),
        activity(std::make_shared<AppActivity>()),
        log_file(std::make_unique<LogFile>(ctx.log_dir / (project.name + ".log"))) {
    activity->phase = AppPhase::stopped;
    build_instances();
  }

  ~Impl() {
    *alive = false;
    fail_boot("The app was removed from rp while it started.");
    flush_log();
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->output) inst->output->close();
      }
    }
    release_ports();
  }

  asio::io_context& io;
  AppContext& ctx;
  Project project;
  EnvMap inherited;
  AppOptions options;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  std::string run_id;
  std::uint64_t runs = 0;
  Clock::time_point phase_since = Clock::now();
  std::shared_ptr<AppStatus> status;
  asio::steady_timer stop_timer;
  asio::steady_timer log_timer;
  std::string pending_log;
  bool log_armed = false;
  std::time_t stamp_second = 0;
  std::string stamp;
  std::shared_ptr<AppActivity> activity;
  std::unique_ptr<LogFile> log_file;

  std::vector<std::unique_ptr<Instance>> tasks;
  std::vector<std::unique_ptr<Instance>> services;
  std::size_t next_task = 0;

  bool stopping_app = false;  // a stop of the whole app is under way
  Clock::time_point stop_started;
  std::vector<std::function<void()>> after_stop;

  std::vector<Waiter> waiters;
  std::uint64_t next_waiter = 0;
  std::uint64_t boot = 0;  // which start a probe loop belongs to

  std::deque<LogEntry> recent;
  std::vector<std::shared_ptr<AppListener>> listeners;

  // --- output -------------------------------------------------------------------------------

  // Lines for the log file wait a moment to be written together: one write per line would be
  // a system call per access line of a busy app.
  void log(const LogEntry& entry) {
    // The time, formatted once a second: a busy app logs thousands of access lines in one.
    const std::time_t second = std::chrono::system_clock::to_time_t(entry.time);
    if (second != stamp_second) {
      stamp_second = second;
      stamp = fmt::format("{:%Y-%m-%dT%H:%M:%S}", fmt::localtime(second));
    }
    pending_log += stamp;
    pending_log += ' ';
    pending_log += entry.source;
    pending_log += " | ";
    pending_log += entry.text;
    pending_log += '\n';
    if (pending_log.size() >= kLogBatchBytes) return flush_log();
    if (log_armed) return;
    log_armed = true;
    log_timer.expires_after(kLogBatchDelay);
    log_timer.async_wait([this, life = alive](boost::system::error_code) {
      if (!*life) return;
      log_armed = false;
      flush_log();
    });
  }

  void flush_log() {
    if (pending_log.empty()) return;
    log_file->append(pending_log);
    pending_log.clear();
  }

  void add_entry(LogEntry entry, bool keep = true) {
    log(entry);
    auto targets = listeners;  // a listener may leave while it is told
    for (auto& l : targets) l->entry(entry);
    if (!keep) return;
    if (recent.size() == kRecentLines) recent.pop_front();
    recent.push_back(std::move(entry));
  }

  void event(std::string text) {
    add_entry({std::chrono::system_clock::now(), "rp", -1, std::move(text)});
  }

  void output(Instance& inst, std::string line) {
    inst.status->log.push(line);
    add_entry({std::chrono::system_clock::now(), inst.label, inst.color, std::move(line)});
  }

  // --- phases -------------------------------------------------------------------------------

  void set_phase(AppPhase phase) {
    if (activity->phase.load() == phase) return;
    activity->phase.store(phase);
    phase_since = Clock::now();
  }
  AppPhase phase() const { return activity->phase.load(); }

  // --- instances and ports ------------------------------------------------------------------

  void build_instances() {
    release_ports();
    tasks.clear();
    services.clear();
    int color = 0;
    auto add = [&](const ProcessSpec& spec, std::vector<std::unique_ptr<Instance>>& into) {
      for (int n = 1; n <= spec.count; ++n) {
        into.push_back(std::make_unique<Instance>(io, spec, n, color));
      }
      ++color;
    };
    for (const auto& t : project.tasks) add(t, tasks);
    for (const auto& s : project.services) add(s, services);
    for (auto& inst : services) {
      int port = preferred_port(project.name, inst->spec.name, inst->number, ctx.port_range);
      if (ctx.ports_in_use.contains(port)) port = next_port(*inst, port);
      inst->status->port = port;
      ctx.ports_in_use.insert(port);
    }
    for (auto& inst : tasks) inst->status->port = 0;
    publish();
  }

  int next_port(const Instance& inst, int taken) {
    auto port = assign_port(project.name, inst.spec.name, inst.number, ctx.port_range,
                            ctx.ports_in_use, port_is_free);
    return port ? *port : taken;
  }

  void release_ports() {
    for (auto& inst : services) ctx.ports_in_use.erase(inst->status->port);
  }

  // Ports stay what they were unless something else took one since: then the instance moves,
  // and the owner is named where /proc shows it.
  void check_ports() {
    bool moved = false;
    for (auto& inst : services) {
      const int port = inst->status->port;
      if (port_is_free(port)) continue;
      ctx.ports_in_use.erase(port);
      int replacement = next_port(*inst, port);
      ctx.ports_in_use.insert(replacement);
      auto owner = find_port_owner(port, Protocol::tcp);
      event(fmt::format("port {} of {} is held by {}; {} uses port {} this time", port, inst->label,
                        owner ? fmt::format("{} (pid {})", owner->name, owner->pid)
                              : std::string("another process"),
                        inst->label, replacement));
      if (replacement != port) {
        // The proxy reads ports without a lock: a moved port needs a new snapshot.
        auto fresh = std::make_shared<InstanceStatus>();
        fresh->process = inst->status->process;
        fresh->label = inst->label;
        fresh->port = replacement;
        fresh->state = inst->state();
        inst->status = fresh;
        moved = true;
      }
    }
    if (moved) publish();
  }

  void publish() {
    auto app = std::make_shared<AppStatus>();
    app->name = project.name;
    app->aliases = project.aliases;
    app->web = project.web;
    for (auto& inst : services) app->instances.push_back(inst->status);
    app->activity = activity;
    status = app;
    if (ctx.on_status_change) ctx.on_status_change();
  }

  // --- starting -----------------------------------------------------------------------------

  void start() {
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
    set_phase(AppPhase::starting);
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        inst->policy = RestartPolicy{};
        inst->ready = false;
        inst->restart_after_stop = false;
      }
    }
    check_ports();
    if (tasks.empty()) {
      start_services();
    } else {
      start_next_task();
    }
  }

  bool spawn(Instance& inst) {
    InstanceIdentity who{project.name,
                         inst.spec.name,
                         inst.number,
                         inst.status->port,
                         "http://" + project.name + ctx.url_suffix,
                         run_id};
    SpawnRequest request{inst.spec.command,
                         environment_block(process_environment(inherited, project.env, who)),
                         project.dir};
    std::string error;
    auto spawned = spawn_process(request, error);
    if (!spawned) {
      event(fmt::format("{} could not start: {}", inst.label, error));
      return false;
    }
    inst.pid = inst.group = spawned->pid;
    inst.ready = false;
    inst.set_state(InstanceState::running);
    inst.started = Clock::now();
    ctx.guardian.watch(inst.group);
    ctx.groups.add(inst.group, ctx.run_id_prefix);
    if (inst.output) inst.output->close();
    inst.output = std::make_shared<OutputReader>(
        io, spawned->output_fd, [this, &inst](std::string line) { output(inst, std::move(line)); });
    inst.output->start();
    if (inst.is_task()) {
      event(fmt::format("{} started (pid {})", inst.label, inst.pid));
    } else {
      event(fmt::format("{} started (pid {}, port {})", inst.label, inst.pid, inst.status->port));
    }
    return true;
  }

  void start_next_task() {
    if (phase() != AppPhase::starting) return;
    if (next_task == tasks.size()) return start_services();
    if (!spawn(*tasks[next_task])) {
      fail_boot(fmt::format("task {} could not start", tasks[next_task]->label));
      stop_on_its_own(127);
    }
  }

  void start_services() {
    std::size_t started = 0;
    for (auto& inst : services) {
      if (spawn(*inst)) {
        ++started;
      } else {
        schedule_restart(*inst, Clock::now());
      }
    }
    if (services.empty()) {
      event("no services to run");
      return stop_on_its_own(0);
    }
    event(fmt::format("{} of {} processes started; {} is at http://{}{}", started, services.size(),
                      project.name, project.name, ctx.url_suffix));
    probe();
  }

  // --- readiness ----------------------------------------------------------------------------

  std::vector<Instance*> web_instances() {
    std::vector<Instance*> out;
    for (auto& inst : services) {
      if (inst->spec.name == project.web) out.push_back(inst.get());
    }
    return out;
  }

  // The app is ready when every web instance that runs has passed its probe (and one does).
  void probe() {
    if (web_instances().empty()) return become_ready();
    asio::co_spawn(io, probe_loop(boot, alive), asio::detached);
  }

  asio::awaitable<void> probe_loop(std::uint64_t this_boot, std::shared_ptr<bool> life) {
    auto delay = std::chrono::duration_cast<Clock::duration>(kFirstProbeDelay);
    int probes = 0;
    while (*life && boot == this_boot && phase() == AppPhase::starting) {
      bool all = true, any = false;
      for (Instance* inst : web_instances()) {
        if (inst->state() != InstanceState::running) {
          all = false;
          continue;
        }
        if (!inst->ready) {
          auto status = inst->status;  // the instance may be rebuilt while this waits
          const bool ok = co_await probe_ready(status->port, inst->spec.ready_http,
                                               project.name + ctx.url_suffix, status->family);
          if (!*life || boot != this_boot) co_return;
          inst->ready = ok;
        }
        if (inst->ready) {
          any = true;
        } else {
          all = false;
        }
      }
      if (all && any) co_return become_ready();
      asio::steady_timer wait(io, delay);
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
      if (++probes > kEagerProbes) delay = std::min<Clock::duration>(delay * 2, kMaxProbeDelay);
    }
  }

  void become_ready() {
    if (phase() != AppPhase::starting) return;
    set_phase(AppPhase::ready);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - phase_since);
    (void)ms;
    event(web_instances().empty() ? std::string("ready") : fmt::format("{} is ready", project.web));
    finish_waiters(ready_result());
  }

  BootResult ready_result() const {
    BootResult r;
    r.app = status;
    return r;
  }

  void finish_waiters(const BootResult& result) {
    auto done = std::move(waiters);
    waiters.clear();
    for (auto& w : done) {
      w.deadline->cancel();
      w.done(result);
    }
  }

  void fail_boot(std::string what, std::vector<std::string> log = {}) {
    finish_waiters(BootResult::failure(BootOutcome::failed, std::move(what), std::move(log)));
  }

  void wake(std::function<void(BootResult)> done) {
    const auto p = phase();
    if (p == AppPhase::ready) return done(ready_result());
    const auto id = next_waiter++;
    auto deadline = std::make_unique<asio::steady_timer>(io, project.boot_timeout);
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

  // --- exits --------------------------------------------------------------------------------

  Instance* find_by_pid(pid_t pid) {
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->pid == pid) return inst.get();
      }
    }
    return nullptr;
  }

  bool on_child_exit(pid_t pid, int status) {
    Instance* found = find_by_pid(pid);
    if (!found) return false;
    Instance& inst = *found;
    if (inst.output) inst.output->drain();
    inst.pid = -1;
    const bool stopping_it = stopping_app || inst.stopping_since.has_value();
    if (!stopping_it) {
      // What the leader left behind in its group goes with it: a service restarts whole. The
      // group id is then let go, so no later signal can reach a group that reuses the number.
      ::kill(-inst.group, SIGKILL);
      forget_group(inst);
    }
    event(fmt::format("{} {}", inst.label, describe_status(status)));
    if (stopping_it) return true;  // the stop's poll marks it stopped once its group is empty

    if (inst.is_task()) {
      inst.set_state(InstanceState::stopped);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ++next_task;
        start_next_task();
        return true;
      }
      event(fmt::format("task {} failed; not starting the services", inst.spec.name));
      std::vector<std::string> tail;
      for (auto& line : inst.status->log.tail(20)) tail.push_back(inst.label + " | " + line);
      fail_boot(fmt::format("Task {} {} before the services could start.", inst.label,
                            describe_status(status)),
                std::move(tail));
      stop_on_its_own(exit_code_of(status));
      return true;
    }
    if (options.exit_on_error) {
      event(fmt::format("--exit-on-error: stopping everything because {} exited", inst.label));
      stop_on_its_own(exit_code_of(status));
      return true;
    }
    if (phase() == AppPhase::starting && inst.spec.name == project.web) {
      fail_boot(fmt::format("{} {} before it was ready.", inst.label, describe_status(status)));
    }
    schedule_restart(inst, inst.started);
    return true;
  }

  void forget_group(Instance& inst) {
    if (inst.group <= 0) return;
    ctx.guardian.forget(inst.group);
    ctx.groups.remove(inst.group);
    inst.group = -1;
  }

  void schedule_restart(Instance& inst, Clock::time_point started) {
    auto decision = inst.policy.on_exit(started, Clock::now());
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
        schedule_restart(inst, Clock::now());
      } else if (phase() == AppPhase::failed || phase() == AppPhase::starting) {
        if (inst.spec.name == project.web) {
          set_phase(AppPhase::starting);
          probe();
        }
      }
    });
  }

  // --- stopping -----------------------------------------------------------------------------

  // The app ends itself (a task failed, --exit-on-error, nothing to run): listeners learn the
  // exit status once everything is gone.
  void stop_on_its_own(int code) {
    stop([this, code] {
      if (code != 0) set_phase(AppPhase::failed);
      end(code);
    });
  }

  void end(int code) {
    auto targets = listeners;
    for (auto& l : targets) l->ended(code);
  }

  void stop(std::function<void()> done) {
    if (done) after_stop.push_back(std::move(done));
    if (stopping_app) return;
    bool anything = false;
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) anything = anything || inst->has_processes();
    }
    if (!anything && live_marked_processes(run_id).empty()) {
      stopping_app = true;  // so that finish_stop's callbacks see a consistent state
      return finish_stop();
    }
    stopping_app = true;
    set_phase(AppPhase::stopping);
    stop_started = Clock::now();
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        inst->timer.cancel();
        if (inst->state() == InstanceState::backing_off) inst->set_state(InstanceState::stopped);
        if (inst->has_processes()) begin_instance_stop(*inst);
      }
    }
    for (pid_t p : live_marked_processes(run_id)) ::kill(p, SIGTERM);
    poll_stop();
  }

  void begin_instance_stop(Instance& inst) {
    if (!inst.stopping_since) inst.stopping_since = Clock::now();
    inst.timer.cancel();
    if (inst.group > 0) ::kill(-inst.group, inst.spec.stop_signal);
  }

  void kill() {
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->group > 0) ::kill(-inst->group, SIGKILL);
      }
    }
    if (!run_id.empty()) {
      for (pid_t p : live_marked_processes(run_id)) ::kill(p, SIGKILL);
    }
  }

  void poll_stop() {
    const auto now = Clock::now();
    bool waiting = false;
    Duration longest{0};
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (!inst->stopping_since) continue;
        longest = std::max(longest, inst->spec.stop_timeout);
        // Gone when the leader is reaped (its exit is reported) and its group is empty.
        if (inst->pid <= 0 && (inst->group <= 0 || live_group_members(inst->group).empty())) {
          instance_stopped(*inst);
          continue;
        }
        if (now >= *inst->stopping_since + inst->spec.stop_timeout && inst->group > 0) {
          ::kill(-inst->group, SIGKILL);
        }
        waiting = true;
      }
    }
    if (stopping_app && !run_id.empty()) {
      auto marked = live_marked_processes(run_id);
      if (!marked.empty()) {
        waiting = true;
        if (now >= stop_started + longest) {
          for (pid_t p : marked) ::kill(p, SIGKILL);
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

  void instance_stopped(Instance& inst) {
    inst.stopping_since.reset();
    forget_group(inst);
    if (inst.output) inst.output->drain();
    inst.set_state(InstanceState::stopped);
    if (inst.restart_after_stop && !stopping_app) {
      inst.restart_after_stop = false;
      inst.policy = RestartPolicy{};
      if (!spawn(inst)) schedule_restart(inst, Clock::now());
    }
  }

  void finish_stop() {
    stopping_app = false;
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->output) inst->output->drain();
        inst->set_state(InstanceState::stopped);
      }
    }
    const bool was_running = phase() != AppPhase::stopped;
    set_phase(AppPhase::stopped);
    if (was_running) event("all processes stopped");
    if (!waiters.empty()) {
      // Nobody asked for this stop to be followed by a start: the boot is over.
      bool restarting = !after_stop.empty();
      if (!restarting) fail_boot("The app stopped before it was ready.");
    }
    auto callbacks = std::move(after_stop);
    after_stop.clear();
    for (auto& c : callbacks) c();
  }

  // --- one process --------------------------------------------------------------------------

  std::vector<Instance*> instances_of(const std::string& process) {
    std::vector<Instance*> out;
    for (auto* list : {&tasks, &services}) {
      for (auto& inst : *list) {
        if (inst->spec.name == process) out.push_back(inst.get());
      }
    }
    return out;
  }

  bool stop_process(const std::string& process, bool restart_after) {
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
            schedule_restart(*inst, Clock::now());
          }
        }
      }
    }
    poll_stop();
    return true;
  }

  bool start_process(const std::string& process) {
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
      if (!spawn(*inst)) schedule_restart(*inst, Clock::now());
    }
    return true;
  }
};

bool LogEntry::of(std::string_view process) const {
  if (process.empty() || source == process) return true;
  return source.size() > process.size() && source.starts_with(process) &&
         source[process.size()] == '.';
}

App::App(asio::io_context& io, AppContext& context, Project project, EnvMap inherited,
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
  impl_->end(exit_code);
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
  std::vector<LogEntry> out;
  for (auto it = impl_->recent.rbegin(); it != impl_->recent.rend() && out.size() < n; ++it) {
    if (it->of(process)) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void App::listen(std::shared_ptr<AppListener> listener) {
  impl_->listeners.push_back(std::move(listener));
}

void App::unlisten(const AppListener* listener) {
  std::erase_if(impl_->listeners, [&](const auto& l) { return l.get() == listener; });
}

void App::event(std::string text) {
  impl_->event(std::move(text));
}

void App::access(std::vector<std::string> lines) {
  const auto now = std::chrono::system_clock::now();
  for (auto& line : lines) impl_->add_entry({now, "http", -1, std::move(line)}, false);
}

std::vector<App::InstanceInfo> App::instances() const {
  std::vector<InstanceInfo> out;
  for (auto* list : {&impl_->tasks, &impl_->services}) {
    for (auto& inst : *list) {
      out.push_back({inst->label, inst->spec.name, inst->state(), inst->status->port, inst->pid,
                     inst->started});
    }
  }
  return out;
}

}  // namespace rp
