// rp.yaml, a project's own settings (README.md, "rp.yaml"). This is the file as written, checked
// for keys and types; whether the names it uses exist in the Procfile is checked when the project
// is put together (project.hpp), which knows both.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/dotenv.hpp"
#include "supervisor/project/duration.hpp"

namespace rp {

enum class ProcessKind { service, task };

// Where in rp.yaml a setting was written, so later checks can point at it.
struct Position {
  int line = 0;
  int column = 0;
};

struct ProcessSettings {
  std::string name;
  Position position;
  std::optional<std::string> command;
  std::optional<ProcessKind> kind;
  std::optional<std::string> ready_http;  // `ready: {http: /up}`: a path that must answer < 500
  std::optional<int> stop_signal;
  std::optional<Duration> stop_timeout;
};

struct ProjectConfig {
  std::optional<std::string> name;
  Position name_position;
  std::vector<std::string> aliases;
  std::optional<std::string> web;
  Position web_position;
  std::map<std::string, int> formation;
  std::map<std::string, Position> formation_positions;
  std::optional<Duration> idle_timeout;
  std::optional<Duration> boot_timeout;
  std::optional<bool> https_redirect;  // `https: redirect` (true) or `https: both` (false)
  std::optional<bool> boot_page;       // a browser sees the boot log while the app starts
  EnvMap env;
  std::vector<ProcessSettings> processes;  // in file order: tasks run in this order
};

ProjectConfig parse_project_config(std::string_view text, const std::string& path,
                                   Diagnostics& errors);

// True for a DNS label rp can route: [a-z0-9-], 1 to 63 long, no '-' at either end.
bool valid_dns_label(std::string_view name);
// An app's name: a DNS label, or several joined by dots (a worktree's BRANCH.NAME).
bool valid_app_name(std::string_view name);

}  // namespace rp
