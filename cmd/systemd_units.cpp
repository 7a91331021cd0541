#include "cmd/systemd_units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "supervisor/app/ports.hpp"
#include "supervisor/process/shell_command.hpp"
#include "supervisor/project/signals.hpp"

namespace rp {
namespace {

constexpr std::string_view kWhere = "rp export systemd";

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// The shared part of both quotings; `dollar` is what a `$` becomes.
std::string quoted(std::string_view value, std::string_view dollar) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '%':
        out += "%%";
        break;
      case '$':
        out += dollar;
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (is_control(c)) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// systemd's rule for variable names (bash's): letters, digits and '_', not starting with a digit.
// A dotenv name may also hold '.', which no unit can pass on.
bool systemd_variable_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "shop-web-1.service": foreman's names, one unit per instance.
std::string unit_name(const Project& project, const std::string& process, int instance) {
  return fmt::format("{}-{}-{}.service", project.name, process, instance);
}

std::string mark(std::string_view app) {
  return fmt::format(
      "# Written by `rp export systemd` for {}; exporting {} again rewrites or "
      "removes it.\n",
      app, app);
}

// What opens every file: the mark, and where the project is (so its reader knows what to edit).
std::string header(const Project& project) {
  return mark(project.name) +
         fmt::format("# From {}: export again after changing its Procfile, .env or rp.yaml.\n",
                     project.dir.string());
}

// A path as a unit's setting reads it: as written, but for `%`, which would be a specifier.
std::string unit_path(std::string_view path) {
  std::string out;
  for (char c : path) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

// rp kills at once when stop_timeout is 0; systemd reads 0 as "never", so the shortest wait
// it has stands in.
std::string stop_timeout(Duration d) {
  return d.count() == 0 ? "1ms" : format_duration(d);
}

// The [Service] lines every process shares: where it runs, its environment, its command, and how
// it stops.
std::string service_body(const Project& project, const ProcessSpec& spec, const EnvMap& env) {
  std::string out = fmt::format("WorkingDirectory={}\n", unit_path(project.dir.string()));
  for (const auto& [key, value] : env) {
    out += fmt::format("Environment={}\n", unit_quoted(key + "=" + value));
  }
  out += fmt::format("ExecStart=/bin/sh -c {}\n", exec_quoted(with_exec(spec.command)));
  out += "KillMode=control-group\n";
  out += fmt::format("KillSignal={}\n", signal_name(spec.stop_signal));
  out += fmt::format("TimeoutStopSec={}\n", stop_timeout(spec.stop_timeout));
  return out;
}

// The environment of one instance: the project's (.env files and rp.yaml `env`, resolved when
// the project was read), then who the process is, as rp tells it.
EnvMap instance_env(const Project& project, const ProcessSpec& spec, int instance,
                    std::optional<int> port) {
  EnvMap env = project.env;
  if (port) env["PORT"] = std::to_string(*port);
  env["RP_APP"] = project.name;
  env["RP_PROCESS"] = fmt::format("{}.{}", spec.name, instance);
  return env;
}

// After= and Requires= on every task: a service starts once they all succeeded, as under rp up.
std::string after_tasks(const std::vector<std::string>& tasks) {
  if (tasks.empty()) return "";
  std::string list;
  for (const auto& t : tasks) list += (list.empty() ? "" : " ") + t;
  return fmt::format("Requires={}\nAfter={}\n", list, list);
}

void check_representable(const Project& project, Diagnostics& errors) {
  for (const auto& [key, value] : project.env) {
    if (!systemd_variable_name(key)) {
      errors.push_back(
          {std::string(kWhere), 0, 0,
           fmt::format("systemd cannot pass the variable '{}' to a unit", key),
           "a unit's variable names use letters, digits and '_' only: rename it in .env or "
           "rp.yaml"});
    }
  }
  if (std::ranges::any_of(project.dir.string(), is_control)) {
    errors.push_back({std::string(kWhere), 0, 0,
                      fmt::format("the project's directory '{}' has a control character in its "
                                  "path, which WorkingDirectory= cannot hold",
                                  project.dir.string()),
                      "move the project to a directory with a plain name"});
  }
}

}  // namespace

std::string unit_quoted(std::string_view value) {
  return quoted(value, "$");
}

std::string exec_quoted(std::string_view arg) {
  return quoted(arg, "$$");
}

bool exported_for(std::string_view app, std::string_view name, std::string_view text) {
  const std::string prefix = std::string(app) + "-";
  const bool named = name == std::string(app) + ".target" ||
                     (name.starts_with(prefix) && name.ends_with(".service") &&
                      name.size() > prefix.size() + std::string_view(".service").size());
  return named && text.starts_with(mark(app));
}

std::vector<UnitFile> systemd_units(const Project& project, PortRange ports, Diagnostics& errors) {
  const auto errors_before = errors.size();
  check_representable(project, errors);
  if (errors.size() != errors_before) return {};

  std::vector<UnitFile> units;
  const std::string target = project.name + ".target";
  const std::string part_of = fmt::format("PartOf={}\n", target);

  // Tasks, one after another in rp.yaml's order; each stays "active" once it has succeeded, so
  // the services that require it start, and a restart of the target runs it again.
  std::vector<std::string> previous;
  for (const auto& spec : project.tasks) {
    const std::string name = unit_name(project, spec.name, 1);
    units.push_back(
        {name, header(project) + "[Unit]\n" +
                   fmt::format("Description={} task {} (rp export)\n", project.name, spec.name) +
                   part_of + after_tasks(previous) +
                   "\n[Service]\nType=oneshot\nRemainAfterExit=yes\n" +
                   service_body(project, spec, instance_env(project, spec, 1, std::nullopt))});
    previous = {name};
  }
  std::vector<std::string> task_units;
  for (const auto& u : units) task_units.push_back(u.name);

  // Services, each instance on the port rp up prefers for it (the same hash, the same step past
  // a port another instance of the app has), whatever holds it now.
  std::set<int> assigned;
  const auto any_port = [](int) { return true; };
  for (const auto& spec : project.services) {
    for (int n = 1; n <= spec.count; ++n) {
      const int port =
          assign_port(project.name, spec.name, n, ports, assigned, any_port).value_or(0);
      assigned.insert(port);
      units.push_back(
          {unit_name(project, spec.name, n),
           header(project) + "[Unit]\n" +
               fmt::format("Description={} {}.{} (rp export)\n", project.name, spec.name, n) +
               part_of + after_tasks(task_units) + "\n[Service]\n" +
               service_body(project, spec, instance_env(project, spec, n, port)) +
               "Restart=on-failure\nRestartSec=1s\n",
           port});
    }
  }

  std::string wants;
  for (const auto& u : units) wants += " " + u.name;
  units.insert(units.begin(),
               {target, header(project) + "[Unit]\n" +
                            fmt::format("Description={} (rp export)\n", project.name) +
                            (wants.empty() ? "" : "Wants=" + wants.substr(1) + "\n") +
                            "\n[Install]\nWantedBy=default.target\n"});
  return units;
}

}  // namespace rp
