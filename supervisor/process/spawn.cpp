#include "supervisor/process/spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstring>

#include "supervisor/process/shell_command.hpp"

namespace rp {
namespace {

// Where a shell looks when PATH is not set (dash's default).
constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Everything the child needs, made before it exists: between clone and exec it shares the
// daemon's memory while the daemon's other threads run, so it may only make system calls (no
// allocation, no locks) and must write nothing but `failed_errno` and `failed_step`.
struct ChildPlan {
  std::vector<const char*> candidates;  // paths to try to execve, in order
  std::vector<const char*> argv;
  std::vector<const char*> envp;
  const char* dir = nullptr;
  int stdin_fd = -1;   // /dev/null
  int output_fd = -1;  // the pipe's write end, for stdout and stderr
  pid_t parent = 0;
  const char* program = nullptr;  // as the command names it, for the message when it cannot run
  volatile int failed_errno = 0;
  volatile const char* failed_step = nullptr;
};

[[noreturn]] void fail(ChildPlan& plan, const char* step) {
  plan.failed_errno = errno;
  plan.failed_step = step;
  ::_exit(127);
}

// The signals an app gets with their default action even when the daemon ignores them (a
// daemon started from a terminal or under nohup may ignore SIGHUP or SIGINT; an app must not).
// Any other signal the daemon ignores stays ignored across exec, as POSIX has it.
bool resets_when_ignored(int sig) {
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) {
    if (s == sig) return true;
  }
  return false;
}

int child_main(void* arg) {
  ChildPlan& plan = *static_cast<ChildPlan*>(arg);
  // rp's signal handlers must not run here (they would act on the daemon's memory) nor reach
  // the app: every caught signal back to its default, and the ignored ones resets_when_ignored()
  // names too.
  // All are blocked until exec (the daemon blocked them before the clone).
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action {};
    if (::sigaction(sig, nullptr, &action) != 0 || action.sa_handler == SIG_DFL) continue;
    if (action.sa_handler == SIG_IGN && !resets_when_ignored(sig)) continue;
    action = {};
    action.sa_handler = SIG_DFL;
    ::sigaction(sig, &action, nullptr);
  }
  if (::setpgid(0, 0) != 0) fail(plan, "setpgid");
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(plan, "prctl");
  // rp may have died between clone and prctl; then nobody would ever stop this process.
  if (::getppid() != plan.parent) ::_exit(1);
  if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.output_fd, 1) < 0 ||
      ::dup2(plan.output_fd, 2) < 0) {
    fail(plan, "dup2");
  }
  // Nothing else of the daemon's may reach the app: a client connection the proxy holds open
  // would stay open in the app after the proxy closed it.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    const long limit = ::sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < limit && fd < (1 << 20); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (::chdir(plan.dir) != 0) fail(plan, "chdir");
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // As a shell searches PATH: a candidate that is not there is skipped; one that is there but
  // cannot run (EACCES) is what is reported if nothing runs.
  int reported = ENOENT;
  for (const char* path : plan.candidates) {
    ::execve(path, const_cast<char* const*>(plan.argv.data()),
             const_cast<char* const*>(plan.envp.data()));
    if (errno != ENOENT && errno != ENOTDIR) reported = errno;
  }
  // What the app's log shows, as a shell would say it, with a shell's exit status: 127 when
  // there is no such program, 126 when it cannot run.
  const char* what = reported == ENOENT ? "not found" : ::strerrordesc_np(reported);
  for (const char* part : {"rp: ", plan.program, ": ", what, "\n"}) {
    [[maybe_unused]] auto n = ::write(2, part, std::strlen(part));
  }
  ::_exit(reported == ENOENT ? 127 : 126);
}

// Where execve may find `program`: itself when it names a path, else each directory of the
// child's PATH (an empty entry is the current directory).
std::vector<std::string> candidates_for(const std::string& program,
                                        const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) return {program};
  std::string_view path = env_value(env, "PATH").value_or("");
  if (path.empty()) path = kDefaultPath;
  std::vector<std::string> out;
  for (std::size_t start = 0;;) {
    const auto colon = path.find(':', start);
    const auto dir = path.substr(start, colon == std::string_view::npos ? colon : colon - start);
    std::string candidate(dir.empty() ? "." : dir);
    candidate += '/';
    candidate += program;
    out.push_back(std::move(candidate));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return out;
}

std::vector<const char*> pointers(const std::vector<std::string>& strings) {
  std::vector<const char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(s.c_str());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::optional<Spawned> spawn_process(const SpawnRequest& request, std::string& error) {
  // A command without shell syntax is started directly; anything else by /bin/sh -c.
  std::vector<std::string> argv;
  if (auto words = plain_argv(request.command, request.env)) {
    argv = std::move(*words);
  } else {
    argv = {"/bin/sh", "-c", with_exec(request.command)};
  }
  const std::vector<std::string> candidates = candidates_for(argv.front(), request.env);
  const std::string dir = request.dir.string();

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  const int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) {
    error = std::string("/dev/null: ") + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return std::nullopt;
  }

  ChildPlan plan;
  plan.candidates = pointers(candidates);
  plan.candidates.pop_back();  // (a list, not an argv: no terminating null)
  plan.argv = pointers(argv);
  plan.envp = pointers(request.env);
  plan.dir = dir.c_str();
  plan.stdin_fd = dev_null;
  plan.output_fd = pipe_fds[1];
  plan.parent = ::getpid();
  plan.program = argv.front().c_str();

  // clone(CLONE_VM | CLONE_VFORK), as posix_spawn does it (which cannot set PR_SET_PDEATHSIG):
  // no copy of the daemon's page tables, which fork() makes and which grows with its memory;
  // this thread waits until the child has exec'd or failed. The child runs on a stack of its
  // own. Signals stay blocked across it so that none runs a daemon handler in the child.
  static std::array<char, 64 * 1024> child_stack;
  sigset_t all, before;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &before);
  const pid_t pid = ::clone(child_main, child_stack.data() + child_stack.size(),
                            CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  ::close(pipe_fds[1]);
  ::close(dev_null);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    error = std::string("clone: ") + std::strerror(clone_errno);
    return std::nullopt;
  }
  if (plan.failed_step) {
    // The child could not become the app; it has exited (127): reap it here.
    ::waitpid(pid, nullptr, 0);
    ::close(pipe_fds[0]);
    error = std::string(const_cast<const char*>(plan.failed_step)) + ": " +
            std::strerror(plan.failed_errno);
    return std::nullopt;
  }
  return Spawned{pid, pipe_fds[0]};
}

}  // namespace rp
