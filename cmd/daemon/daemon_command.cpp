// `rp daemon`: starts the daemon in the background (the default, and how other commands start
// it: detached, logging to RP_HOME/logs/daemon.log, returning once it listens), in the
// foreground (`--foreground`, for a systemd user unit), or stops it (`rp daemon stop`: every app
// it runs, then itself).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "cmd/client.hpp"
#include "cmd/commands.hpp"
#include "cmd/daemon/serve.hpp"
#include "cmd/load.hpp"
#include "supervisor/project/environment.hpp"
#include "supervisor/project/global_config.hpp"

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp::cmd {
namespace {

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
  auto deadline = Clock::now() + 30s;
  bool term_sent = reply.status == 0;
  while (pid && ::kill(*pid, 0) == 0 && DaemonClient::daemon_pid(env)) {
    if (Clock::now() > deadline) {
      if (!term_sent) {
        // It answered but is still stopping: SIGTERM, and a last while to end by itself.
        ::kill(*pid, SIGTERM);
        term_sent = true;
        deadline = Clock::now() + 5s;
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
