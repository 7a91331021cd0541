#include "supervisor/project/project.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "supervisor/project/formation.hpp"
#include "supervisor/project/git_worktree.hpp"
#include "supervisor/project/procfile.hpp"
#include "supervisor/project/text.hpp"

namespace fs = std::filesystem;

namespace rp {
namespace {

std::string join_names(const std::vector<ProcessSpec>& a, const std::vector<ProcessSpec>& b = {}) {
  std::string out;
  for (const auto* list : {&a, &b}) {
    for (const auto& p : *list) out += (out.empty() ? "" : ", ") + p.name;
  }
  return out.empty() ? "(none)" : out;
}

ProcessSpec* find(std::vector<ProcessSpec>& list, const std::string& name) {
  for (auto& p : list) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace

std::string dns_safe_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 128) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string project_name(const fs::path& dir, const std::optional<std::string>& configured) {
  const auto worktree = linked_worktree(dir);
  if (!worktree) return configured ? *configured : dns_safe_name(dir.filename().string());
  std::optional<std::string> main_name;
  if (auto text = read_text_file(worktree->main_dir / "rp.yaml")) {
    Diagnostics ignored;  // the main checkout's own mistakes are its own `rp up`'s to report
    main_name = parse_project_config(*text, "rp.yaml", ignored).name;
  }
  const std::string name = main_name    ? *main_name
                           : configured ? *configured
                                        : dns_safe_name(worktree->main_dir.filename().string());
  if (name.empty()) return {};
  return worktree->branch + "." + name;
}

std::string display_path(const fs::path& path) {
  std::error_code ec;
  auto rel = fs::proximate(path, fs::current_path(ec), ec);
  if (ec || rel.empty() || *rel.begin() == "..") return path.string();
  return rel.string();
}

std::optional<Project> load_project(const fs::path& dir_in, const LoadOptions& options,
                                    const EnvMap& inherited, const GlobalConfig& global,
                                    Diagnostics& errors) {
  const std::size_t errors_before = errors.size();
  Project project;
  project.dir =
      options.procfile ? fs::absolute(*options.procfile).parent_path() : fs::absolute(dir_in);
  project.idle_timeout = global.idle_timeout;
  const fs::path& dir = project.dir;

  // rp.yaml first: it may define processes the Procfile does not have.
  ProjectConfig config;
  const fs::path yaml_path = dir / "rp.yaml";
  const std::string yaml_name = display_path(yaml_path);
  if (auto text = read_text_file(yaml_path)) {
    config = parse_project_config(*text, yaml_name, errors);
  }

  // The Procfile: -f, else Procfile.dev, else Procfile. (No exceptions: the daemon loads projects
  // too, and a directory it may not read is an error in the project, not in rp.)
  std::error_code exists_error;
  fs::path procfile_path = options.procfile ? fs::absolute(*options.procfile)
                           : fs::exists(dir / "Procfile.dev", exists_error) ? dir / "Procfile.dev"
                                                                            : dir / "Procfile";
  std::vector<ProcfileEntry> entries;
  if (auto text = read_text_file(procfile_path)) {
    entries = parse_procfile(*text, display_path(procfile_path), errors);
  } else if (options.procfile || config.processes.empty()) {
    errors.push_back({display_path(procfile_path), 0, 0, "cannot read the Procfile",
                      options.procfile
                          ? "check the path given to -f"
                          : "create a Procfile with a line such as 'web: bin/server'"});
  }
  for (const auto& e : entries) {
    ProcessSpec spec;
    spec.name = e.name;
    spec.command = e.command;
    project.services.push_back(std::move(spec));
  }

  // Per-process settings, and processes that only rp.yaml defines.
  for (const auto& s : config.processes) {
    ProcessSpec* spec = find(project.services, s.name);
    if (spec && s.command) {
      errors.push_back({yaml_name, s.position.line, s.position.column,
                        fmt::format("process '{}' has a command here and in the Procfile", s.name),
                        "keep the command in one place"});
      continue;
    }
    if (!spec) {
      if (!s.command) {
        errors.push_back(
            {yaml_name, s.position.line, s.position.column,
             fmt::format("process '{}' is not in the Procfile and has no command", s.name),
             "add 'command: ...' or fix the name (Procfile has: " + join_names(project.services) +
                 ")"});
        continue;
      }
      ProcessSpec added;
      added.name = s.name;
      added.command = *s.command;
      project.services.push_back(std::move(added));
      spec = &project.services.back();
    }
    if (s.kind) spec->kind = *s.kind;
    if (s.stop_signal) spec->stop_signal = *s.stop_signal;
    if (s.stop_timeout) spec->stop_timeout = *s.stop_timeout;
    spec->ready_http = s.ready_http;
  }
  // Tasks leave the services list, in rp.yaml order.
  for (const auto& s : config.processes) {
    if (auto* spec = find(project.services, s.name); spec && spec->kind == ProcessKind::task) {
      project.tasks.push_back(*spec);
      project.services.erase(project.services.begin() + (spec - project.services.data()));
    }
  }

  // Formation: rp.yaml, then -m over it.
  for (const auto& [name, count] : config.formation) {
    const auto& pos = config.formation_positions[name];
    if (auto* spec = find(project.services, name)) {
      spec->count = count;
    } else {
      errors.push_back({yaml_name, pos.line, pos.column,
                        fmt::format("formation names unknown process '{}'", name),
                        "known processes: " + join_names(project.services)});
    }
  }
  if (options.formation) {
    std::string why;
    if (auto f = parse_formation(*options.formation, why)) {
      if (f->all) {
        for (auto& s : project.services) s.count = *f->all;
      }
      for (const auto& [name, count] : f->counts) {
        if (auto* spec = find(project.services, name)) {
          spec->count = count;
        } else {
          errors.push_back({"-m", 0, 0, fmt::format("formation names unknown process '{}'", name),
                            "known processes: " + join_names(project.services)});
        }
      }
    } else {
      errors.push_back({"-m", 0, 0, why, "write it as web=2,worker=1 (all=N for every process)"});
    }
  }

  // PROC...: only these services start. rp.yaml's web is checked against all of them first.
  const bool web_known = config.web && find(project.services, *config.web);
  if (!options.only.empty()) {
    for (const auto& name : options.only) {
      if (!find(project.services, name)) {
        errors.push_back({"rp up", 0, 0, fmt::format("no service named '{}'", name),
                          "services: " + join_names(project.services) +
                              (project.tasks.empty() ? "" : " (tasks always run first)")});
      }
    }
    std::erase_if(project.services, [&](const ProcessSpec& s) {
      return std::find(options.only.begin(), options.only.end(), s.name) == options.only.end();
    });
  }

  // The web process: rp.yaml's, else "web", else the first service.
  if (config.web) {
    if (web_known) {
      project.web = *config.web;
    } else {
      errors.push_back({yaml_name, config.web_position.line, config.web_position.column,
                        fmt::format("web names unknown process '{}'", *config.web),
                        "services: " + join_names(project.services)});
    }
  } else if (find(project.services, "web")) {
    project.web = "web";
  } else if (!project.services.empty()) {
    project.web = project.services.front().name;
  }

  // Name and aliases.
  project.name = project_name(dir, config.name);
  if (project.name.empty()) {
    errors.push_back({yaml_name, 0, 0,
                      fmt::format("'{}' gives no usable app name", dir.filename().string()),
                      "set 'name: myapp' in rp.yaml"});
  }
  project.aliases = config.aliases;
  if (const auto worktree = linked_worktree(dir)) {
    // A worktree's aliases get its branch, as its name does: checked out from the same rp.yaml,
    // they would otherwise be the main checkout's too.
    for (auto& alias : project.aliases) alias = worktree->branch + "." + alias;
  }
  if (config.idle_timeout) project.idle_timeout = *config.idle_timeout;
  if (config.boot_timeout) project.boot_timeout = *config.boot_timeout;
  if (config.https_redirect) project.https_redirect = *config.https_redirect;
  if (config.boot_page) project.boot_page = *config.boot_page;

  // Environment: .env then .env.local (or -e files), then rp.yaml env.
  std::vector<fs::path> env_files;
  const bool explicit_env = options.env_files.has_value();
  if (explicit_env) {
    env_files = *options.env_files;
  } else {
    env_files = {dir / ".env", dir / ".env.local"};
  }
  for (const auto& f : env_files) {
    if (auto text = read_text_file(f)) {
      parse_dotenv(*text, display_path(f), project.env, inherited, errors);
    } else if (explicit_env) {
      errors.push_back(
          {display_path(f), 0, 0, "cannot read this env file", "check the path given to -e"});
    }
  }
  for (const auto& [k, v] : config.env) project.env[k] = v;

  if (errors.size() != errors_before) return std::nullopt;
  return project;
}

}  // namespace rp
