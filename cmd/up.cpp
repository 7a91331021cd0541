// `rp up`: hands the project in the current directory to the daemon (started if need be) with
// this terminal's environment, and shows its output until Ctrl-C, which stops it. The project
// belongs to this command: if it ends any other way (a closed terminal, SIGKILL), the daemon
// sees its connection go and stops the project too. `rp up -d` returns once the web process is
// ready and leaves the project to the daemon.
#include <fmt/format.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <csignal>

#include "cmd/client.hpp"
#include "cmd/console.hpp"
#include "cmd/load.hpp"
#include "cmd/replies.hpp"
#include "supervisor/project/signals.hpp"

namespace json = boost::json;

namespace rp::cmd {
namespace {

// The body of POST /v1/up: the project as this command sees it.
std::string up_request(const UpArgs& args, const EnvMap& env) {
  json::object body = project_request(args.project, env);
  body["exit_on_error"] = args.exit_on_error;
  body["detach"] = args.detach;
  if (args.project.formation) body["formation"] = *args.project.formation;
  json::array only;
  for (const auto& p : args.project.processes) only.emplace_back(p);
  body["only"] = std::move(only);
  return json::serialize(body);
}

// Signals arrive as readable bytes on a descriptor, beside the daemon's stream in one poll().
int signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  return ::signalfd(-1, &set, SFD_CLOEXEC);
}

int detached(DaemonClient& client, const std::string& body, const Project& project, bool json) {
  // The daemon holds the answer until the web process is ready or boot_timeout passes.
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(project.boot_timeout) +
                 DaemonClient::kDefaultTimeout;
  auto reply = client.call("POST", "/v1/up", body, timeout);
  if (reply.status == 0) {
    fmt::print(stderr, "rp up: {}\n", reply.error);
    return 1;
  }
  auto answer = parse_object(reply.body);
  if (reply.status != 200) {
    print_api_error("rp up", reply.status, answer);
    return 1;
  }
  if (json) {
    fmt::print("{}\n", boost::json::serialize(answer));
    return 0;
  }
  fmt::print("{} is ready at {}\n", string_of(answer, "app"), string_of(answer, "url"));
  print_url_hint(answer);
  return 0;
}

}  // namespace

int up(const UpArgs& args) {
  EnvMap env = current_environment();
  // The project's files are checked here first, so their mistakes are shown as this user would
  // write the paths.
  auto loaded = load(args.project, env);
  if (!loaded.project) {
    print_errors(loaded.errors);
    fmt::print(stderr, "rp up: not starting — fix the error{} above (`rp check` lists them)\n",
               loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  const std::string body = up_request(args, env);
  DaemonClient client(env, true);
  if (args.detach) return detached(client, body, *loaded.project, args.json);

  const int signals = signal_fd();
  auto reply = client.open("POST", "/v1/up", body);
  if (reply.status != 200) {
    if (reply.status == 0) {
      fmt::print(stderr, "rp up: {}\n", reply.error);
    } else {
      print_api_error("rp up", reply.status, parse_object(reply.body));
    }
    return 1;
  }

  Console console(STDOUT_FILENO, {color_wanted(STDOUT_FILENO, env), args.timestamps, 4});
  std::string app = loaded.project->name;
  // What one read brought is written in one go: a busy app's access lines would otherwise cost
  // a write each.
  std::string pending;
  // Each event is read into the same memory, taken back before the next: the lines of a busy
  // app cost no allocation each.
  std::array<unsigned char, 4096> event_space;
  json::monotonic_resource event_memory(event_space.data(), event_space.size());
  // One event of the stream; the exit status when it is the last.
  auto show = [&](std::string_view line) -> std::optional<int> {
    event_memory.release();
    const json::object event = parse_object(line, &event_memory);
    const std::string_view type = view_of(event, "type");
    if (type == "hello") {
      app = view_of(event, "app");
      if (auto* labels = event.if_contains("labels"); labels && labels->is_array()) {
        for (const auto& l : labels->get_array()) {
          if (l.is_string()) console.set_width(l.get_string().size());
        }
      }
    } else if (type == "line") {
      std::optional<int> color;
      if (auto* c = event.if_contains("color"); c && c->is_int64()) {
        color = static_cast<int>(c->get_int64());
      }
      console.render_to(pending, view_of(event, "source"), color, view_of(event, "text"));
    } else if (type == "exit") {
      auto* code = event.if_contains("code");
      return code && code->is_int64() ? static_cast<int>(code->get_int64()) : 1;
    }
    return std::nullopt;
  };

  // Every complete line read so far, shown; the exit status once the stream says it.
  auto drain = [&]() -> std::optional<int> {
    std::optional<int> exit_code;
    while (!exit_code) {
      auto line = client.take_line_view();
      if (!line) break;
      exit_code = show(*line);
    }
    console.write(pending);
    pending.clear();
    return exit_code;
  };
  // The first lines may have come with the answer's head: they are shown now, not when the
  // next line comes (which may be never).
  if (auto exit_code = drain()) return *exit_code;

  int interrupts = 0;
  for (;;) {
    pollfd fds[2] = {{client.fd(), POLLIN, 0}, {signals, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signals, &info, sizeof info) == sizeof info) {
        const int sig = static_cast<int>(info.ssi_signo);
        if (++interrupts == 1) {
          console.event(
              fmt::format("{} received, stopping (again to kill at once)", signal_name(sig)));
          client.close_sending();  // the daemon stops the app and ends the stream
        } else if (interrupts == 2) {
          console.event(fmt::format("{} received again, killing", signal_name(sig)));
          DaemonClient killer(env, false);
          killer.call("POST", fmt::format("/v1/apps/{}/kill", app));
        }
      }
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const bool open = client.receive();
    if (auto exit_code = drain()) return *exit_code;
    if (!open) {
      console.event("lost the connection to the rp daemon; its log is in RP_HOME/logs/daemon.log");
      return 1;
    }
  }
}

}  // namespace rp::cmd
