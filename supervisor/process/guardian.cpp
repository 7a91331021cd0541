#include "supervisor/process/guardian.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>
#include <thread>

#include "supervisor/process/process_tree.hpp"

namespace rp {
namespace {

constexpr auto kGrace = std::chrono::seconds(3);

void signal_all(const std::set<pid_t>& groups, const std::string& run_id, int sig) {
  for (pid_t g : groups) ::kill(-g, sig);
  for (pid_t p : live_marked_processes(run_id, true)) ::kill(p, sig);
}

bool any_alive(const std::set<pid_t>& groups, const std::string& run_id) {
  for (pid_t g : groups) {
    if (!live_group_members(g).empty()) return true;
  }
  return !live_marked_processes(run_id, true).empty();
}

[[noreturn]] void guard(int fd, const std::string& run_id) {
  ::prctl(PR_SET_NAME, "rp-guardian");
  // Ctrl-C and a closed terminal reach rp's whole process group; the guardian must outlive rp
  // to do its job, and ends on its own when the pipe closes.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
  // Keep nothing of rp's open: a test reading rp's output must see it end when rp ends.
  int devnull = ::open("/dev/null", O_RDWR);
  for (int target : {0, 1, 2}) ::dup2(devnull, target);
  for (int other = 3; other < 1024; ++other) {
    if (other != fd) ::close(other);
  }

  std::set<pid_t> groups;
  bool done = false;
  FILE* in = ::fdopen(fd, "r");
  char op;
  int pgid;
  while (in && std::fscanf(in, " %c %d", &op, &pgid) == 2) {
    if (op == '+') groups.insert(pgid);
    if (op == '-') groups.erase(pgid);
    if (op == 'q') done = true;
  }
  if (done) ::_exit(0);

  signal_all(groups, run_id, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kGrace;
  while (std::chrono::steady_clock::now() < deadline && any_alive(groups, run_id)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  signal_all(groups, run_id, SIGKILL);
  ::_exit(0);
}

}  // namespace

Guardian Guardian::start(const std::string& run_id) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Guardian(-1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[1]);
    guard(fds[0], run_id);
  }
  ::close(fds[0]);
  if (pid < 0) {
    ::close(fds[1]);
    return Guardian(-1);
  }
  return Guardian(fds[1]);
}

Guardian::Guardian(Guardian&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

Guardian::~Guardian() {
  if (fd_ >= 0) ::close(fd_);
}

void Guardian::send(char op, pid_t pgid) {
  if (fd_ < 0) return;
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%c %d\n", op, static_cast<int>(pgid));
  // Short writes of a few bytes to a pipe are atomic; a failure means the guardian is gone.
  if (::write(fd_, buf, static_cast<std::size_t>(n)) != n) {
    ::close(fd_);
    fd_ = -1;
  }
}

void Guardian::watch(pid_t pgid) {
  send('+', pgid);
}
void Guardian::forget(pid_t pgid) {
  send('-', pgid);
}
void Guardian::release() {
  send('q', 0);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace rp
