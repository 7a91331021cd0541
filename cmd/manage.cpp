// The commands that look at and steer what the daemon runs: ls/status, logs, start/stop/restart,
// down, link/unlink and route. Each is one call to the control API and a few lines of output.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <filesystem>

#include "cmd/client.hpp"
#include "cmd/commands.hpp"
#include "cmd/console.hpp"
#include "cmd/load.hpp"
#include "cmd/replies.hpp"
#include "cmd/table.hpp"

namespace json = boost::json;

namespace rp::cmd {
namespace {

// Waiting for a boot (start, restart) may take as long as an app's boot_timeout.
constexpr std::chrono::milliseconds kBootWait{5 * 60 * 1000};

// An answer that is not 200, or no answer: said on stderr, and the exit status is 1.
bool failed(std::string_view command, const Reply& reply) {
  if (reply.status == 200) return false;
  if (reply.status == 0) {
    fmt::print(stderr, "{}: {}\n", command, reply.error);
  } else {
    print_api_error(command, reply.status, parse_object(reply.body));
  }
  return true;
}

std::string age(const json::value* seconds) {
  if (!seconds || !seconds->is_int64()) return "-";
  return human_age(std::chrono::seconds(seconds->as_int64()));
}

// The app registered from the current directory (or the one above it that is a project), else
// the name this directory's project would have.
std::optional<std::string> app_here(DaemonClient& client, std::string_view command) {
  auto reply = client.call("GET", "/v1/status");
  if (failed(command, reply)) return std::nullopt;
  auto status = parse_object(reply.body);
  const auto here = std::filesystem::current_path().string();
  std::string best, best_dir;
  if (auto* apps = status.if_contains("apps"); apps && apps->is_array()) {
    for (const auto& a : apps->as_array()) {
      const auto& o = a.as_object();
      std::string dir = string_of(o, "dir");
      const bool inside = here == dir || here.starts_with(dir + "/");
      if (inside && dir.size() > best_dir.size()) {
        best = string_of(o, "name");
        best_dir = dir;
      }
    }
  }
  if (!best.empty()) return best;
  auto loaded = load({}, current_environment());
  if (loaded.project) return loaded.project->name;
  fmt::print(stderr, "{}: no app runs from {}; name one (`rp ls` lists them)\n", command, here);
  return std::nullopt;
}

// The app a command names, else the current directory's (nullopt after saying why not).
std::optional<std::string> app_named_or_here(DaemonClient& client,
                                             const std::optional<std::string>& named,
                                             std::string_view command) {
  return named ? named : app_here(client, command);
}

// "APP" or "APP/PROC".
std::pair<std::string, std::string> split_target(const std::string& target) {
  auto slash = target.find('/');
  if (slash == std::string::npos) return {target, ""};
  return {target.substr(0, slash), target.substr(slash + 1)};
}

std::string how_registered(const json::object& app) {
  auto flag = [&](const char* key) {
    auto* v = app.if_contains(key);
    return v && v->is_bool() && v->as_bool();
  };
  if (flag("attached")) return "rp up";
  if (flag("linked")) return "linked";
  return "rp up -d";
}

}  // namespace

int status(const StatusArgs& args) {
  DaemonClient client(current_environment(), true);
  auto reply = client.call("GET", "/v1/status");
  if (failed("rp status", reply)) return 1;
  if (args.json) {
    fmt::print("{}\n", reply.body.substr(0, reply.body.find_last_not_of('\n') + 1));
    return 0;
  }
  auto status = parse_object(reply.body);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> problems;
  if (auto* apps = status.if_contains("apps"); apps && apps->is_array()) {
    for (const auto& a : apps->as_array()) {
      const auto& app = a.as_object();
      const std::string name = string_of(app, "name");
      rows.push_back(
          {name, string_of(app, "state"), how_registered(app), "", "", "", string_of(app, "url")});
      if (auto* processes = app.if_contains("processes"); processes && processes->is_array()) {
        for (const auto& p : processes->as_array()) {
          const auto& proc = p.as_object();
          auto port = int_of(proc, "port");
          auto pid = int_of(proc, "pid");
          rows.push_back({"  " + string_of(proc, "label"), string_of(proc, "state"), "",
                          port > 0 ? std::to_string(port) : "-",
                          pid > 0 ? std::to_string(pid) : "-", age(proc.if_contains("uptime_s")),
                          ""});
        }
      }
      if (auto* errors = app.if_contains("errors"); errors && errors->is_array()) {
        for (const auto& e : errors->as_array()) {
          if (e.is_string())
            problems.push_back(fmt::format("{}: {}", name, std::string_view(e.as_string())));
        }
      }
    }
  }
  if (auto* routes = status.if_contains("routes"); routes && routes->is_array()) {
    for (const auto& r : routes->as_array()) {
      const auto& route = r.as_object();
      rows.push_back({string_of(route, "name"), "route", "rp route",
                      std::to_string(int_of(route, "port")), "-", "-", string_of(route, "url")});
    }
  }
  if (rows.empty()) {
    fmt::print("no apps yet: `rp up` or `rp link` in a project's directory\n");
    return 0;
  }
  fmt::print("{}", format_table({"NAME", "STATE", "BY", "PORT", "PID", "UPTIME", "URL"}, rows));
  if (auto* daemon = status.if_contains("daemon"); daemon && daemon->is_object()) {
    print_url_hint(daemon->as_object());
  }
  for (const auto& p : problems) fmt::print("{}\n", p);
  return 0;
}

int logs(const LogsArgs& args) {
  EnvMap env = current_environment();
  DaemonClient client(env, true);
  auto [app, process] =
      args.target ? split_target(*args.target) : std::pair<std::string, std::string>{};
  std::string path =
      fmt::format("/v1/logs?n={}{}{}{}", args.lines, app.empty() ? "" : "&app=" + app,
                  process.empty() ? "" : "&process=" + process, args.follow ? "&follow=1" : "");
  auto reply = client.open("GET", path);
  if (failed("rp logs", reply)) return 1;
  if (args.json) {
    while (auto line = client.next_line()) {
      fmt::print("{}\n", *line);
      if (args.follow) std::fflush(stdout);  // a reader takes each line as it comes
    }
    return 0;
  }
  Console console(STDOUT_FILENO, {color_wanted(STDOUT_FILENO, env), false, 0});
  while (auto line = client.next_line()) {
    auto entry = parse_object(*line);
    std::string source = string_of(entry, "source");
    if (auto owner = string_of(entry, "app"); !owner.empty()) source = owner + "/" + source;
    console.set_width(source.size());
    std::optional<int> color;
    if (auto* c = entry.if_contains("color"); c && c->is_int64())
      color = static_cast<int>(c->as_int64());
    console.line(source, color, string_of(entry, "text"));
  }
  return 0;
}

int control(const ControlArgs& args) {
  DaemonClient client(current_environment(), true);
  const std::string command = "rp " + args.action;
  auto [named, process] =
      args.target ? split_target(*args.target) : std::pair<std::string, std::string>{};
  auto found =
      app_named_or_here(client, args.target ? std::optional(named) : std::nullopt, command);
  if (!found) return 1;
  const std::string app = *found;
  json::object body;
  if (!process.empty()) body["process"] = process;
  auto reply = client.call("POST", fmt::format("/v1/apps/{}/{}", app, args.action),
                           json::serialize(body), kBootWait);
  if (failed(command, reply)) return 1;
  const std::string what = process.empty() ? app : app + "/" + process;
  const char* done = args.action == "start"  ? "started"
                     : args.action == "stop" ? "stopped"
                                             : "restarted";
  fmt::print("{} {}\n", what, done);
  return 0;
}

int down(const DownArgs& args) {
  EnvMap env = current_environment();
  if (!DaemonClient::daemon_pid(env)) {
    fmt::print("rp daemon is not running: nothing to stop\n");
    return 0;
  }
  DaemonClient client(env, false);
  auto found = app_named_or_here(client, args.app, "rp down");
  if (!found) return 1;
  const std::string app = *found;
  auto reply = client.call("POST", fmt::format("/v1/apps/{}/down", app), "{}", kBootWait);
  if (failed("rp down", reply)) return 1;
  fmt::print("{} stopped\n", app);
  return 0;
}

int link(const LinkArgs& args) {
  EnvMap env = current_environment();
  auto loaded = load(args.project, env);
  json::object body = project_request(args.project, env);
  if (args.name) body["name"] = *args.name;
  DaemonClient client(env, true);
  auto reply = client.call("POST", "/v1/links", json::serialize(body));
  if (failed("rp link", reply)) return 1;
  auto answer = parse_object(reply.body);
  if (args.json) {
    fmt::print("{}\n", json::serialize(answer));
  } else {
    fmt::print("linked {}: {} starts it\n", string_of(answer, "app"), string_of(answer, "url"));
    print_url_hint(answer);
  }
  if (!loaded.errors.empty()) {
    print_errors(loaded.errors);
    fmt::print(stderr, "rp link: it will not start until the error{} above {} fixed\n",
               loaded.errors.size() == 1 ? "" : "s", loaded.errors.size() == 1 ? "is" : "are");
  }
  return 0;
}

int unlink(const UnlinkArgs& args) {
  DaemonClient client(current_environment(), true);
  auto found = app_named_or_here(client, args.name, "rp unlink");
  if (!found) return 1;
  const std::string name = *found;
  auto reply = client.call("DELETE", "/v1/links/" + name);
  if (failed("rp unlink", reply)) return 1;
  fmt::print("unlinked {}\n", name);
  return 0;
}

int route(const RouteArgs& args) {
  DaemonClient client(current_environment(), true);
  if (args.remove) {
    auto reply = client.call("DELETE", "/v1/routes/" + args.name);
    if (failed("rp route rm", reply)) return 1;
    fmt::print("removed the route {}\n", args.name);
    return 0;
  }
  auto reply = client.call("PUT", "/v1/routes/" + args.name,
                           json::serialize(json::object{{"port", args.port}}));
  if (failed("rp route", reply)) return 1;
  auto answer = parse_object(reply.body);
  fmt::print("{} → 127.0.0.1:{} ({})\n", args.name, args.port, string_of(answer, "url"));
  return 0;
}

}  // namespace rp::cmd
