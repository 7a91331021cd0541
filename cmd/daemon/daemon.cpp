// `rp daemon`: the one process per RP_HOME that owns the proxy, the DNS responder and every app's
// processes; the other commands are its clients over RP_HOME/rp.sock. In the background (the
// default, and how other commands start it) it detaches and logs to RP_HOME/logs/daemon.log;
// `--foreground` is for a systemd user unit. `rp daemon stop` stops it and everything it runs.
#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "cmd/client.hpp"
#include "cmd/commands.hpp"
#include "cmd/daemon/control_api.hpp"
#include "cmd/load.hpp"
#include "dnsproxy/dns_server.hpp"
#include "proxy/readiness_probe.hpp"
#include "proxy/server.hpp"
#include "supervisor/app/ports.hpp"
#include "supervisor/app/process_host.hpp"
#include "supervisor/apps.hpp"
#include "supervisor/process/guardian.hpp"
#include "supervisor/process/process_tree.hpp"
#include "supervisor/project/environment.hpp"
#include "supervisor/state/group_record.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp::cmd {
namespace {

// The daemon's own lines in its log: when, and what.
void say(std::string_view text) {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  fmt::print("{:%Y-%m-%dT%H:%M:%S} {}\n", fmt::localtime(now), text);
  std::fflush(stdout);
}

// Tells the command that started the daemon how the start went ("ok", or why not), then lets
// it go.
class StartReport {
 public:
  explicit StartReport(int fd) : fd_(fd) {}
  ~StartReport() { send("error the daemon stopped while starting; see its log"); }
  void send(const std::string& text) {
    if (fd_ < 0) return;
    std::string line = text + "\n";
    [[maybe_unused]] auto n = ::write(fd_, line.data(), line.size());
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// One daemon per RP_HOME: an flock on rp.lock, which the kernel lets go when the holder dies,
// so a lock left by a killed daemon is never in the way. The file holds the pid, for clients.
int take_lock(const std::filesystem::path& home, pid_t& holder) {
  const auto path = home / "rp.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char text[32] = {};
    [[maybe_unused]] auto n = ::pread(fd, text, sizeof text - 1, 0);
    holder = std::atoi(text);
    ::close(fd);
    return -1;
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  [[maybe_unused]] int rc = ::ftruncate(fd, 0);
  [[maybe_unused]] auto n = ::pwrite(fd, pid.data(), pid.size(), 0);
  return fd;
}

// Processes a killed daemon left behind (its guardian killed too, or the machine's pid 1 not
// reaping): every process carrying one of the recorded RP_RUN_ID prefixes. SIGTERM, a grace
// period, then SIGKILL.
void reclaim_orphans(GroupRecord& groups) {
  std::set<std::string> markers;
  std::set<pid_t> group_ids;
  for (const auto& entry : groups.load()) {
    markers.insert(entry.marker);
    group_ids.insert(entry.pgid);
  }
  auto find = [&] {
    std::set<pid_t> pids;
    for (const auto& m : markers) {
      for (pid_t p : live_marked_processes(m, true)) pids.insert(p);
    }
    return pids;
  };
  auto orphans = find();
  if (!orphans.empty()) {
    std::string list;
    for (pid_t p : orphans) list += (list.empty() ? "" : ", ") + std::to_string(p);
    say(fmt::format("reclaiming {} process{} left by a daemon that was killed (pids {})",
                    orphans.size(), orphans.size() == 1 ? "" : "es", list));
    for (pid_t p : orphans) ::kill(p, SIGTERM);
    const auto deadline = Clock::now() + 3s;
    while (!find().empty() && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
    for (pid_t p : find()) ::kill(p, SIGKILL);
  }
  groups.clear();
}

std::unique_ptr<dns::DnsServer> start_dns(asio::io_context& io, const GlobalConfig& global,
                                          std::vector<std::string>& notices) {
  if (global.dns_port == 0) return nullptr;
  auto server = std::make_unique<dns::DnsServer>(io, global.tlds);
  if (auto failure = server->listen(global.bind, global.dns_port)) {
    notices.push_back("DNS: " + failure->message());
    return nullptr;
  }
  std::string names, where;
  for (const auto& tld : global.tlds) names += (names.empty() ? "*." : ", *.") + tld;
  for (const auto& e : server->endpoints()) where += (where.empty() ? "" : ", ") + e;
  notices.push_back(fmt::format("DNS: answering {} on {}", names, where));
  return server;
}

std::unique_ptr<proxy::Server> start_proxy(const GlobalConfig& global, proxy::AccessSink sink,
                                           std::vector<std::string>& notices) {
  const int port = effective_http_port(global, may_bind_privileged_port());
  if (port == 0) return nullptr;
  proxy::ProxySettings settings{port, global.header_timeout, global.keepalive_timeout,
                                global.connect_timeout, global.max_connections};
  auto server = std::make_unique<proxy::Server>(
      proxy::ListenConfig{global.bind, port, global.proxy_threads}, settings, std::move(sink));
  std::string error;
  if (!server->listen(error)) {
    notices.push_back(fmt::format(
        "HTTP: cannot listen on port {} ({}); the processes run without their names", port, error));
    return nullptr;
  }
  if (!error.empty()) notices.push_back(fmt::format("HTTP: {}", error));
  if (!global.http_port && port != 80) {
    notices.push_back(
        fmt::format("HTTP on port {}: port 80 needs `rp setup` (once, as root)", port));
  }
  say(fmt::format("HTTP: listening on port {}", port));
  server->start();
  return server;
}

// The daemon itself, until it is told to stop. `ready_fd` (or -1) hears how the start went.
int serve(const EnvMap& env, int ready_fd) {
  StartReport report(ready_fd);
  Diagnostics errors;
  GlobalConfig global = load_global_config(env, errors);
  if (!errors.empty()) {
    print_errors(errors);
    report.send("error " + errors.front().str());
    return 1;
  }
  const auto home = rp_home(env);
  std::error_code fs_error;
  std::filesystem::create_directories(home / "logs", fs_error);
  std::filesystem::create_directories(home / "run", fs_error);
  ::chmod(home.c_str(), 0700);

  pid_t holder = 0;
  int lock = take_lock(home, holder);
  if (lock < 0) {
    if (holder > 0 && ready_fd < 0) {
      fmt::print(stderr, "rp daemon: another daemon (pid {}) already runs for {}\n", holder,
                 home.string());
      return 1;
    }
    if (holder > 0) {
      report.send(fmt::format("running {}", holder));
      return 0;
    }
    report.send(fmt::format("error cannot lock {}", (home / "rp.lock").string()));
    return 1;
  }
  say(fmt::format("rp daemon {} starting (pid {}) for {}", RP_VERSION, ::getpid(), home.string()));
  if (std::filesystem::exists(home / "rp.sock", fs_error)) {
    say("removing the control socket a daemon that was killed left behind");
  }
  GroupRecord groups(home / "run" / "groups");
  reclaim_orphans(groups);

  // Orphans of the processes the daemon starts are re-parented to it, so a stop finds them all.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const std::string run_id_prefix = new_run_id() + "-";
  // Forked before Asio starts a thread, while this process has a single thread.
  Guardian guardian = Guardian::start(run_id_prefix);

  asio::io_context io;
  std::vector<std::string> notices;
  Apps* apps_ptr = nullptr;
  auto proxy = start_proxy(
      global,
      [&io, &apps_ptr](std::vector<proxy::AccessLine> lines) {
        asio::post(io, [&apps_ptr, lines = std::move(lines)]() mutable {
          // Grouped per app: one hand-over to each app for the whole batch.
          std::map<std::string, std::vector<std::string>> by_app;
          for (auto& l : lines) by_app[l.app].push_back(std::move(l.text));
          for (auto& [name, texts] : by_app) {
            if (App* app = apps_ptr ? apps_ptr->find(name) : nullptr) app->access(std::move(texts));
          }
        });
      },
      notices);
  auto dns = start_dns(io, global, notices);
  for (const auto& n : notices) say(n);

  const int http_port = proxy ? effective_http_port(global, may_bind_privileged_port()) : 0;
  std::string url_suffix = "." + global.tlds.front();
  if (http_port != 80 && http_port != 0) url_suffix += fmt::format(":{}", http_port);
  std::set<int> ports_in_use;
  SystemProcessHost processes(guardian, groups, run_id_prefix);
  proxy::HttpReadinessProbe readiness(io);
  AppContext context{processes,         readiness,    run_id_prefix, url_suffix,
                     global.port_range, ports_in_use, home / "logs", {}};
  Registry registry(home);
  Apps apps(
      io, context, global, registry,
      [&proxy, &global](std::vector<std::shared_ptr<const AppStatus>> all) {
        if (proxy) {
          proxy->set_routes(std::make_shared<const proxy::RouteTable>(global.tlds, std::move(all)));
        }
      });
  apps_ptr = &apps;
  for (const auto& problem : apps.start()) say(problem.str());

  bool stopping = false;
  std::unique_ptr<ControlApi> api;
  auto shutdown = [&] {
    if (stopping) return;
    stopping = true;
    say("stopping every app");
    if (api) api->close();
    apps.stop_all([&] { io.stop(); });
  };
  DaemonInfo info{home, RP_VERSION, http_port, dns ? global.dns_port : 0, Clock::now(), notices};
  api = std::make_unique<ControlApi>(io, apps, info, shutdown);
  std::string error;
  if (!api->listen(home / "rp.sock", error)) {
    say(error);
    report.send("error " + error);
    guardian.release();
    return 1;
  }

  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> watch_signals = [&] {
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      if (stopping) {
        say("signalled again: killing every process");
        apps.kill_all();
      }
      shutdown();
      watch_signals();
    });
  };
  watch_signals();

  say(fmt::format("listening on {}", (home / "rp.sock").string()));
  report.send(fmt::format("ok {}", ::getpid()));
  // A mistake of rp's that escapes a handler is logged and the daemon goes on: it owns every
  // app's processes and must not take them down with it.
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      say(fmt::format("internal error (please report it): {}", e.what()));
    }
  }

  if (proxy) proxy->stop();
  guardian.release();
  groups.clear();
  std::filesystem::remove(home / "rp.sock", fs_error);
  say("stopped");
  ::close(lock);
  return 0;
}

// Starts the daemon detached from this terminal and returns once it listens (0) or failed (1).
int start_in_background(const EnvMap& env, bool quiet) {
  const auto home = rp_home(env);
  std::error_code fs_error;
  std::filesystem::create_directories(home / "logs", fs_error);
  ::chmod(home.c_str(), 0700);
  const auto log_path = home / "logs" / "daemon.log";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    fmt::print(stderr, "rp daemon: pipe: {}\n", std::strerror(errno));
    return 1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    fmt::print(stderr, "rp daemon: fork: {}\n", std::strerror(errno));
    return 1;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::setsid();
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null >= 0) ::dup2(null, 0);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    if (::chdir("/") != 0) ::_exit(1);
    std::fflush(stdout);
    ::_exit(serve(env, fds[1]));
  }
  ::close(fds[1]);
  std::string answer;
  char chunk[256];
  ssize_t n;
  while ((n = ::read(fds[0], chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) answer.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.starts_with("ok ")) {
    if (!quiet) {
      fmt::print(stderr, "rp: started the daemon (pid {}); its log is {}\n", answer.substr(3),
                 log_path.string());
    }
    return 0;
  }
  if (answer.starts_with("running ")) {
    if (!quiet) fmt::print(stderr, "rp daemon already runs (pid {})\n", answer.substr(8));
    return 0;
  }
  fmt::print(stderr, "rp daemon did not start: {}\n  (its log: {})\n",
             answer.starts_with("error ") ? answer.substr(6) : std::string("no answer"),
             log_path.string());
  return 1;
}

int stop_daemon(const EnvMap& env) {
  auto pid = DaemonClient::daemon_pid(env);
  DaemonClient client(env, false);
  auto reply = client.call("POST", "/v1/daemon/stop");
  if (reply.status == 0 && !pid) {
    fmt::print("rp daemon is not running\n");
    return 0;
  }
  if (reply.status == 0) {
    // Wedged: the kernel can still stop it, and its guardian then stops the apps.
    fmt::print(stderr, "rp: {}\nrp: sending SIGTERM to pid {}\n", reply.error, *pid);
    ::kill(*pid, SIGTERM);
  }
  const auto deadline = Clock::now() + 30s;
  bool term_sent = reply.status == 0;
  while (pid && ::kill(*pid, 0) == 0 && DaemonClient::daemon_pid(env)) {
    if (Clock::now() > deadline) {
      if (!term_sent) {
        ::kill(*pid, SIGTERM);
        term_sent = true;
        continue;
      }
      fmt::print(stderr, "rp: the daemon (pid {}) is still there: killing it\n", *pid);
      ::kill(*pid, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  fmt::print("rp daemon stopped\n");
  return 0;
}

}  // namespace

int daemon(const DaemonArgs& args) {
  EnvMap env = current_environment();
  if (args.stop) return stop_daemon(env);
  if (args.foreground) return serve(env, -1);
  return start_in_background(env, args.quiet);
}

}  // namespace rp::cmd
