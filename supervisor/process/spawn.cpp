#include "supervisor/process/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>
#include <csignal>
#include <cstring>

#include "supervisor/process/shell_command.hpp"

namespace bp = boost::process::v2;

namespace rp {
namespace {

// Runs in the child between fork and exec.
struct OwnGroupDiesWithParent {
  pid_t parent;

  boost::system::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                                          const char* const*) {
    if (::setpgid(0, 0) != 0) return {errno, boost::system::system_category()};
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return {errno, boost::system::system_category()};
    // rp may have died between fork and prctl; then nobody would ever stop this process.
    if (::getppid() != parent) ::_exit(1);
    // rp's signal handling must not leak into the app: default dispositions, nothing blocked.
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Nothing of the daemon's may reach the app: a client connection the proxy holds open would
    // stay open in the app after the proxy closed it. Boost.Process 1.81 means to close every
    // descriptor but stdio and misses those numbered below its own error pipe; marking them
    // close-on-exec here catches them all (the error pipe is close-on-exec already).
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      const long limit = ::sysconf(_SC_OPEN_MAX);
      for (int fd = 3; fd < limit && fd < (1 << 20); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return {};
  }
};

}  // namespace

std::optional<Spawned> spawn_process(const SpawnRequest& request, std::string& error) {
  // The launcher tells the io_context of the process object it returns about the fork, and the
  // child re-creates that context's epoll set with every descriptor in it before it can exec.
  // rp waits for its children itself (and detaches the object below), so an empty context of
  // its own keeps that work — a cost that grew with every socket of the daemon — out of each
  // start.
  static boost::asio::io_context spawn_context;
  auto& io = spawn_context;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::vector<const char*> env;
  for (const auto& e : request.env) env.push_back(e.c_str());
  env.push_back(nullptr);

  boost::system::error_code ec;
  bp::posix::default_launcher launcher;
  launcher.env = env.data();
  auto process =
      launcher(io, ec, bp::filesystem::path("/bin/sh"),
               std::vector<std::string>{"-c", with_exec(request.command)},
               bp::process_stdio{nullptr, pipe_fds[1], pipe_fds[1]},
               bp::process_start_dir{request.dir.string()}, OwnGroupDiesWithParent{::getpid()});
  ::close(pipe_fds[1]);
  if (ec) {
    ::close(pipe_fds[0]);
    error = ec.message();
    return std::nullopt;
  }
  Spawned spawned{process.id(), pipe_fds[0]};
  process.detach();  // rp waits for its children itself (it also reaps adopted orphans)
  return spawned;
}

}  // namespace rp
