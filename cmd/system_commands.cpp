#include "cmd/system_commands.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "supervisor/project/text.hpp"

namespace rp::cmd {
namespace {

// In a child before exec: drop root for `as`, groups first (they cannot be changed after setuid).
bool become(const Identity& as) {
  return ::initgroups(as.name.c_str(), as.gid) == 0 && ::setgid(as.gid) == 0 &&
         ::setuid(as.uid) == 0;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::optional<std::string> find_program(const std::string& program) {
  auto runnable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    return runnable(program) ? std::optional(program) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  for (auto dir : split_list(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    auto candidate = fmt::format("{}/{}", dir, program);
    if (runnable(candidate)) return candidate;
  }
  return std::nullopt;
}

int run_command(const Command& command, const RunOptions& options) {
  auto program = find_program(command.at(0));
  if (!program) return -1;
  std::vector<std::string> words = command;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if ((options.input && ::pipe2(in, O_CLOEXEC) != 0) ||
      (options.output && ::pipe2(out, O_CLOEXEC) != 0)) {
    return -1;
  }
  std::fflush(nullptr);  // what rp said comes before what the command says
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (options.input) ::dup2(in[0], STDIN_FILENO);
    if (options.output) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
    }
    if (options.as && !become(*options.as)) ::_exit(126);
    ::execv(program->c_str(), argv.data());
    ::_exit(127);
  }
  close_fd(in[0]);
  close_fd(out[1]);
  if (pid < 0) {
    close_fd(in[1]);
    close_fd(out[0]);
    return -1;
  }
  if (options.input) {
    // Small (a certificate): the pipe takes it whole, so writing before reading cannot block.
    std::string_view rest = *options.input;
    while (!rest.empty()) {
      ssize_t n = ::write(in[1], rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    close_fd(in[1]);
  }
  if (options.output) {
    char buffer[4096];
    for (;;) {
      ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      options.output->append(buffer, static_cast<std::size_t>(n));
    }
    close_fd(out[0]);
  }
  return wait_for(pid);
}

int run_as(const Identity& as, const std::function<int()>& work) {
  std::fflush(nullptr);  // or the child would print rp's pending output a second time
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::exit(become(as) ? work() : 1);  // std::exit, not _exit: it flushes what `work` printed
  }
  return pid < 0 ? -1 : wait_for(pid);
}

std::string command_text(const Command& command) {
  std::string out;
  for (const auto& word : command) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::string commands_text(const std::vector<Command>& commands) {
  std::string out;
  for (const auto& c : commands) out += (out.empty() ? "" : "; ") + command_text(c);
  return out;
}

bool run_commands(const std::vector<Command>& commands, std::string_view who) {
  bool ok = true;
  for (const auto& c : commands) {
    int status = run_command(c);
    if (status == 0) {
      fmt::print("ran: {}\n", command_text(c));
      continue;
    }
    ok = false;
    fmt::print(stderr, "{}: `{}` {} — run it yourself (or reboot)\n", who, command_text(c),
               status < 0 ? "could not be started" : fmt::format("exited with {}", status));
  }
  return ok;
}

std::optional<std::filesystem::path> target_root(const std::optional<std::string>& root,
                                                 std::string_view who) {
  if (!root) return std::filesystem::path("/");
  auto dir = std::filesystem::absolute(*root);
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return dir;
  fmt::print(stderr, "{}: --root {} is not a directory\n", who, dir.string());
  return std::nullopt;
}

bool may_change_system(bool live, std::string_view command, std::string_view action) {
  if (!live || ::geteuid() == 0) return true;
  fmt::print(stderr,
             "rp {} {} changes system files and needs root: sudo rp {} {} (rp {} without it "
             "shows what would change)\n",
             command, action, command, action, command);
  return false;
}

void say_not_run_under_root(const std::vector<Command>& commands) {
  if (commands.empty()) return;
  fmt::print("not run with --root (they act on the running system): {}\n", commands_text(commands));
}

}  // namespace rp::cmd
