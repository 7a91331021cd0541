// The daemon's life: its start (configuration, RP_HOME's lock, what a killed daemon left), its
// parts wired together in Daemon, the event loop, and its stop. daemon.hpp says what the parts
// are; daemon_command.cpp how `rp daemon` starts and stops it.
#include "cmd/daemon/daemon.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <functional>
#include <future>
#include <thread>

#include "cmd/daemon/serve.hpp"
#include "cmd/load.hpp"
#include "cmd/probes.hpp"
#include "proxy/router.hpp"
#include "proxy/tls/tls_context.hpp"
#include "supervisor/app/ports.hpp"
#include "supervisor/process/port_owner.hpp"
#include "supervisor/process/process_tree.hpp"
#include "supervisor/project/environment.hpp"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp::cmd {
namespace {

// The daemon's own lines in its log: when, and what. Called from any thread. A log on a full or
// read-only disk loses the line, and nothing else: fmt::print throws when stdio cannot take the
// line (one longer than its buffer, say), and that would be into the event loop.
void say(std::string_view text) {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  const std::string line = fmt::format("{:%Y-%m-%dT%H:%M:%S} {}\n", fmt::localtime(now), text);
  std::fwrite(line.data(), 1, line.size(), stdout);
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
  for (const auto& entry : groups.load()) {
    markers.insert(entry.marker);
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
                                          std::vector<std::string>& notices,
                                          proxy::AcceptShortage& shortage) {
  if (global.dns_port == 0) return nullptr;
  dns::AcceptWatch watch{[&shortage](const boost::system::error_code& ec) { shortage.failed(ec); },
                         [&shortage] { shortage.accepted(); }};
  auto server = std::make_unique<dns::DnsServer>(io, global.tlds, std::move(watch));
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

// HTTPS's certificates, from the local CA in RP_HOME/ca (made now if there is none), whose files
// become `ca_files` for the environment of every process. nullptr, with a notice, when the CA
// cannot be had: HTTP serves on, and processes are told of no CA.
std::shared_ptr<tls::TlsContext> open_tls(const GlobalConfig& global,
                                          const std::filesystem::path& home,
                                          std::vector<std::string>& notices, CaFiles& ca_files) {
  std::string error;
  auto ca = tls::LocalCa::open(home / "ca", global.tlds, error);
  if (!ca) {
    notices.push_back(fmt::format("HTTPS: off: {}", error));
    return nullptr;
  }
  for (const auto& w : ca->warnings()) {
    notices.push_back(fmt::format("HTTPS: {} — {}", w.what, w.fix));
  }
  ca_files = {ca->certificate_file(), ca->bundle_file()};
  return std::make_shared<tls::TlsContext>(std::move(*ca), global.tlds,
                                           [](const std::string& line) { say(line); });
}

// The proxy's connection limit: config.yaml's, else what this process's open-files limit allows
// (main raised it to the hard limit).
int max_connections(const GlobalConfig& global) {
  rlimit files{};
  std::uint64_t limit = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
    limit = files.rlim_cur == RLIM_INFINITY ? UINT64_MAX : files.rlim_cur;
  }
  return effective_max_connections(global, limit);
}

// The HTTP and HTTPS listeners, bound but not yet serving (Daemon starts them once the apps are
// there). nullptr when neither is on or neither could be had. `ca_files` as open_tls says.
std::unique_ptr<proxy::Server> open_proxy(const GlobalConfig& global,
                                          const std::filesystem::path& home,
                                          std::vector<std::string>& notices, CaFiles& ca_files) {
  const bool privileged = may_bind_privileged_port();
  int port = effective_http_port(global, privileged);
  int tls_port = effective_https_port(global, privileged);
  if (port == 0 && tls_port == 0) return nullptr;
  // 80 and 443 are the usual ports, not promised ones: when another server has one of them on
  // a loopback address, even on one (rp may bind it, as root or after `rp setup`), rp takes the
  // port it would take without the right rather than share the names with it or go without the
  // listener, and says so.
  auto taken = [&](std::string_view kind, int usual, int instead) {
    if (port_is_free(usual)) return false;
    const auto owner = find_port_owner(usual, Protocol::tcp);
    notices.push_back(
        fmt::format("{}: port {} is taken{}: listening on port {} instead", kind, usual,
                    owner ? fmt::format(" by {} (pid {})", owner->name, owner->pid) : "", instead));
    return true;
  };
  const bool http_taken = !global.http_port && port == 80 && taken("HTTP", 80, 7780);
  if (http_taken) port = 7780;
  const bool https_taken = !global.https_port && tls_port == 443 && taken("HTTPS", 443, 7743);
  if (https_taken) tls_port = 7743;
  proxy::ProxySettings settings{port,
                                0,
                                global.header_timeout,
                                global.keepalive_timeout,
                                global.connect_timeout,
                                max_connections(global)};
  auto server = std::make_unique<proxy::Server>(
      proxy::ListenConfig{global.bind, port, global.proxy_threads}, settings);
  bool serving = false;
  std::string error;
  // What a bind says in the log: why it failed, or where the listener is (and how to get the
  // usual port when it fell back to another).
  auto note = [&](std::string_view kind, int at, int usual, bool configured, bool bound,
                  std::string_view consequence) {
    if (!bound) {
      notices.push_back(
          fmt::format("{}: cannot listen on port {} ({}){}", kind, at, error, consequence));
      return;
    }
    serving = true;
    if (!error.empty()) notices.push_back(fmt::format("{}: {}", kind, error));
    if (!configured && at != usual) {
      notices.push_back(
          fmt::format("{} on port {}: port {} needs `rp setup` (once, as root)", kind, at, usual));
    }
    say(fmt::format("{}: listening on port {}", kind, at));
  };
  if (port != 0) {
    const bool bound = server->listen(error);
    note("HTTP", port, http_taken ? port : 80, global.http_port.has_value(), bound,
         "; the processes run without their names");
  }
  if (tls_port != 0) {
    if (auto tls = open_tls(global, home, notices, ca_files)) {
      const bool bound = server->listen_tls(tls_port, std::move(tls), error);
      note("HTTPS", tls_port, https_taken ? tls_port : 443, global.https_port.has_value(), bound,
           "");
    }
  }
  if (!serving) return nullptr;
  return server;
}

// Before anything of this daemon runs: the processes a killed daemon left are gone, and this
// process is their subreaper (orphans of the processes it starts are re-parented to it, so a
// stop finds them all). The prefix of every RP_RUN_ID this daemon gives.
std::string take_over(GroupRecord& groups) {
  reclaim_orphans(groups);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  return new_run_id() + "-";
}

}  // namespace

Daemon::Daemon(GlobalConfig global, std::filesystem::path home, int lock)
    : global_(std::move(global)),
      home_(std::move(home)),
      lock_(lock),
      groups_(home_ / "run" / "groups", [](const std::string& line) { say(line); }),
      run_id_prefix_(take_over(groups_)),
      // Forked before Asio starts a thread, while this process has a single thread.
      guardian_(Guardian::start(run_id_prefix_)),
      shortage_([](const std::string& line) { say(line); }),
      proxy_(open_proxy(global_, home_, notices_, ca_files_)),
      dns_(start_dns(io_, global_, notices_, shortage_)),
      http_port_(proxy_ ? proxy_->port() : 0),
      urls_(choose_urls()),
      processes_(guardian_, groups_, run_id_prefix_),
      readiness_(io_),
      context_{processes_,
               readiness_,
               run_id_prefix_,
               urls_.suffix,
               global_.port_range,
               ports_in_use_,
               home_ / "logs",
               {ca_files_, global_.tlds},
               {},
               urls_.scheme},
      registry_(home_),
      apps_(io_, context_, global_, registry_, std::bind_front(&Daemon::publish_routes, this)),
      signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  for (const auto& n : notices_) say(n);
  for (const auto& problem : apps_.start()) say(problem.str());
  if (proxy_) proxy_->start(apps_, shortage_);
}

Daemon::~Daemon() {
  if (proxy_) proxy_->stop();
}

UrlRule Daemon::choose_urls() {
  const Listening listening{http_port_, proxy_ ? proxy_->tls_port() : 0};
  if (global_.url_tld) return url_rule_for(*global_.url_tld, listening);
  const std::string& first = global_.tlds.front();
  // Nothing to ask the resolver when its answer cannot change the URLs.
  if (!url_depends_on_resolver(global_.tlds)) return url_rule_for(first, listening);
  // The system resolver may hand the name to rp's own DNS responder, which this thread's loop
  // serves: it runs while the answer is awaited (nothing else is on it yet).
  auto answer = std::async(std::launch::async,
                           [name = probe_name(first)] { return resolve_to_here(name, 2s); });
  while (answer.wait_for(0s) != std::future_status::ready) {
    if (dns_) {
      io_.run_one_for(20ms);
    } else {
      answer.wait();
    }
  }
  if (io_.stopped()) io_.restart();
  const NameCheck check = answer.get();
  UrlRule rule = url_rule(global_.tlds, check.here(), listening);
  const std::string what = check.here()                      ? "resolves to this machine"
                           : !check.resolution.error.empty() ? "does not resolve"
                                                             : "resolves elsewhere";
  say(fmt::format("URLs are {}://NAME{}: {} {}", rule.scheme, rule.suffix, probe_name(first),
                  what));
  if (!rule.hint.empty()) notices_.push_back(rule.hint);
  return rule;
}

void Daemon::publish_routes(std::vector<std::shared_ptr<const AppStatus>> all) {
  routed_ = std::move(all);
  if (proxy_) {
    proxy_->set_routes(
        std::make_shared<const proxy::RouteTable>(global_.tlds, routed_, dashboard_));
  }
}

bool Daemon::open_control(std::string& error) {
  DaemonInfo info{home_,
                  RP_VERSION,
                  http_port_,
                  proxy_ ? proxy_->tls_port() : 0,
                  dns_ ? global_.dns_port : 0,
                  Clock::now(),
                  notices_,
                  urls_.hint,
                  global_.tlds};
  api_ = std::make_unique<ControlApi>(io_, apps_, info, std::bind_front(&Daemon::shutdown, this),
                                      shortage_);
  if (!api_->listen(home_ / "rp.sock", error)) {
    guardian_.release();
    return false;
  }
  if (proxy_) open_dashboard();
  watch_signals();
  say(fmt::format("listening on {}", (home_ / "rp.sock").string()));
  return true;
}

// rp.<tld> becomes a route to the API's browser listener, as a static route is to its port.
void Daemon::open_dashboard() {
  std::string error;
  const int port = api_->listen_for_browsers(error);
  if (port == 0) {
    say(error + "; rp.<tld> lists the apps instead of the dashboard");
    return;
  }
  dashboard_ = AppStatus::always_up(std::string(Apps::kReservedName), "dashboard", port);
  publish_routes(routed_);
}

void Daemon::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  say("stopping every app");
  if (api_) api_->close();
  if (!proxy_) {
    apps_.stop_all([this] { io_.stop(); });
    return;
  }
  // Requests in flight finish first (HTTP/2 connections are told GOAWAY), for up to 5 s; then
  // the apps stop.
  proxy_->drain(std::chrono::seconds(5),
                [this] { asio::post(io_, [this] { apps_.stop_all([this] { io_.stop(); }); }); });
}

void Daemon::watch_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (stopping_) {
      say("signalled again: killing every process");
      apps_.kill_all();
    }
    shutdown();
    watch_signals();
  });
}

int Daemon::run() {
  // A mistake of rp's that escapes a handler is logged and the daemon goes on: it owns every
  // app's processes and must not take them down with it.
  for (;;) {
    try {
      io_.run();
      break;
    } catch (const std::exception& e) {
      say(fmt::format("internal error (please report it): {}", e.what()));
    }
  }
  if (proxy_) proxy_->stop();
  guardian_.release();
  groups_.clear();
  std::error_code fs_error;
  std::filesystem::remove(home_ / "rp.sock", fs_error);
  say("stopped");
  ::close(lock_);
  return 0;
}

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

  Daemon daemon(std::move(global), home, lock);
  std::string error;
  if (!daemon.open_control(error)) {
    say(error);
    report.send("error " + error);
    return 1;
  }
  report.send(fmt::format("ok {}", ::getpid()));
  return daemon.run();
}

}  // namespace rp::cmd
