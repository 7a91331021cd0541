#include "cmd/client.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "cmd/socket_path.hpp"
#include "proxy/http/message.hpp"
#include "supervisor/project/environment.hpp"
#include "supervisor/project/global_config.hpp"
#include "supervisor/project/text.hpp"

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace rp::cmd {
namespace {

// How long a daemon that was just started (or is starting) gets to accept connections.
constexpr auto kStartWait = 10s;

std::filesystem::path socket_path(const EnvMap& env) {
  return rp_home(env) / "rp.sock";
}

// Waits until `fd` is readable or `deadline` passes.
bool wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

std::string wedged(const EnvMap& env, std::chrono::milliseconds timeout) {
  auto pid = DaemonClient::daemon_pid(env);
  return fmt::format(
      "the rp daemon{} did not answer within {} s; it may be wedged: `rp daemon stop` (or kill "
      "{}) and try again; its log is {}",
      pid ? fmt::format(" (pid {})", *pid) : "", timeout.count() / 1000,
      pid ? fmt::format("pid {}", *pid) : "it", (rp_home(env) / "logs" / "daemon.log").string());
}

}  // namespace

DaemonClient::DaemonClient(const EnvMap& env, bool autostart)
    : env_(env), autostart_(autostart), reader_(std::make_unique<http::ResponseReader>()) {}

DaemonClient::~DaemonClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<int> DaemonClient::daemon_pid(const EnvMap& env) {
  auto text = read_text_file(rp_home(env) / "rp.lock");
  if (!text) return std::nullopt;
  try {
    int pid = std::stoi(*text);
    if (pid > 0 && ::kill(pid, 0) == 0) return pid;
  } catch (...) {
  }
  return std::nullopt;
}

bool DaemonClient::connect(std::string& error) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  reader_ = std::make_unique<http::ResponseReader>();
  taken_ = 0;
  eof_ = false;
  int holder = -1;
  const std::string path = reachable_socket_path(socket_path(env_), holder);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  int err = errno;
  if (holder >= 0) ::close(holder);
  if (rc != 0) {
    ::close(fd);
    error = std::strerror(err);
    return false;
  }
  fd_ = fd;
  return true;
}

// Runs `rp daemon`, which returns once the daemon listens (or says why it cannot).
bool DaemonClient::start_daemon(std::string& error) {
  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // `rp up` blocks its stop signals to read them from a descriptor: the daemon must not inherit
    // that, or it could never be stopped.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    auto block = environment_block(env_);
    std::vector<char*> envp;
    for (auto& e : block) envp.push_back(e.data());
    envp.push_back(nullptr);
    char self[] = "/proc/self/exe";
    char name[] = "rp";
    char command[] = "daemon";
    // On a terminal the user is told a daemon started; into a pipe (scripts, tests) it is not
    // worth a line of their output.
    char quiet[] = "--quiet";
    char* argv[] = {name, command, ::isatty(STDERR_FILENO) ? nullptr : quiet, nullptr};
    ::execve(self, argv, envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = "the daemon did not start (see above)";
    return false;
  }
  return true;
}

bool DaemonClient::send_request(const std::string& method, const std::string& path,
                                const std::string& body, std::string& error) {
  std::string why;
  if (!connect(why)) {
    if (!autostart_) {
      error = fmt::format("the rp daemon is not running ({}: {})", socket_path(env_).string(), why);
      return false;
    }
    if (!start_daemon(error)) return false;
    // Another command may have started it a moment ago: it listens soon.
    const auto deadline = Clock::now() + kStartWait;
    while (!connect(why)) {
      if (Clock::now() > deadline) {
        error = fmt::format("the rp daemon started but does not accept connections on {} ({})",
                            socket_path(env_).string(), why);
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  std::string request = http::request_head(method, path,
                                           {{"Host", "rp"},
                                            {"Content-Type", "application/json"},
                                            {"Content-Length", std::to_string(body.size())},
                                            {"Connection", "close"}});
  request += body;
  std::string_view rest = request;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = fmt::format("lost the rp daemon while sending: {}", std::strerror(errno));
      return false;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Reply DaemonClient::read_head(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Reply reply;
  for (;;) {
    if (reader_->has_head()) {
      reply.status = reader_->head().status;
      return reply;
    }
    if (eof_) {
      reply.error = "the rp daemon closed the connection without an answer";
      return reply;
    }
    if (reader_->failed()) {
      reply.error = "the rp daemon answered something that is not HTTP";
      return reply;
    }
    if (!wait_readable(fd_, deadline)) {
      reply.error = wedged(env_, timeout);
      return reply;
    }
    receive();
  }
}

bool DaemonClient::ended() const {
  return eof_ || reader_->done() || reader_->failed();
}

Reply DaemonClient::call(const std::string& method, const std::string& path,
                         const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Reply reply;
  if (!send_request(method, path, body, reply.error)) return reply;
  reply = read_head(timeout);
  if (reply.status == 0) return reply;
  while (!ended()) {
    if (!wait_readable(fd_, deadline)) {
      return {0, {}, wedged(env_, timeout)};
    }
    receive();
  }
  reply.body = std::move(reader_->body());
  reader_->body().clear();
  return reply;
}

Reply DaemonClient::open(const std::string& method, const std::string& path,
                         const std::string& body, std::chrono::milliseconds timeout) {
  Reply reply;
  if (!send_request(method, path, body, reply.error)) return reply;
  reply = read_head(timeout);
  if (reply.status != 200 && reply.status != 0) {
    // An error is a JSON body, not a stream.
    std::string rest;
    while (auto line = next_line()) rest += *line;
    reply.body = rest;
  }
  return reply;
}

std::optional<std::string> DaemonClient::take_line() {
  auto line = take_line_view();
  if (!line) return std::nullopt;
  return std::string(*line);
}

std::optional<std::string_view> DaemonClient::take_line_view() {
  std::string& body = reader_->body();
  const auto newline = body.find('\n', taken_);
  if (newline != std::string::npos) {
    std::string_view line(body.data() + taken_, newline - taken_);
    taken_ = newline + 1;
    return line;
  }
  if (ended() && taken_ < body.size()) {
    std::string_view rest(body.data() + taken_, body.size() - taken_);
    taken_ = body.size();
    return rest;
  }
  return std::nullopt;
}

bool DaemonClient::receive() {
  if (eof_ || reader_->failed()) return false;
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    eof_ = true;
    reader_->finish();
    return false;
  }
  if (taken_ > 0) {
    reader_->body().erase(0, taken_);
    taken_ = 0;
  }
  reader_->feed(std::string_view(chunk, static_cast<std::size_t>(n)));
  return !reader_->failed();
}

std::optional<std::string> DaemonClient::next_line() {
  for (;;) {
    if (auto line = take_line()) return line;
    if (ended()) return std::nullopt;
    receive();
  }
}

void DaemonClient::close_sending() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

}  // namespace rp::cmd
