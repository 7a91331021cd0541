#include "supervisor/project/project_config.hpp"

#include <fmt/format.h>

#include "supervisor/project/procfile.hpp"
#include "supervisor/project/signals.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/project/yaml_fields.hpp"

namespace rp {
namespace {

Position position_of(const YAML::Node& node) {
  return {node.Mark().line + 1, node.Mark().column + 1};
}

void read_process(const yaml::Reader& r, const YAML::Node& key, const YAML::Node& value,
                  ProjectConfig& config) {
  ProcessSettings p;
  p.name = key.Scalar();
  p.position = position_of(key);
  if (!valid_process_name(p.name)) {
    r.error(key, fmt::format("invalid process name '{}'", p.name),
            "use only letters, digits, '-' and '_'");
    return;
  }
  if (!r.is_map(value, fmt::format("processes.{}", p.name),
                "{command: \"bin/worker\", kind: service}")) {
    return;
  }
  for (const auto& field : value) {
    const YAML::Node& k = field.first;
    const YAML::Node& v = field.second;
    const std::string where = fmt::format("processes.{}", p.name);
    if (!r.known_key(k, where, {"command", "kind", "ready", "stop_signal", "stop_timeout"})) {
      continue;
    }
    const std::string& name = k.Scalar();
    if (name == "command") {
      p.command = r.string(v, "command");
      // As in the Procfile: a blank command would start a shell that exits at once.
      if (p.command && trim(*p.command).empty()) {
        r.error(v, fmt::format("process '{}' has an empty command", p.name),
                "write the command to run, e.g. 'command: bin/worker'");
        p.command.reset();
      }
    } else if (name == "kind") {
      auto kind = r.string(v, "kind");
      if (kind == "service") {
        p.kind = ProcessKind::service;
      } else if (kind == "task") {
        p.kind = ProcessKind::task;
      } else if (kind) {
        r.error(v, fmt::format("kind must be 'service' or 'task', found '{}'", *kind),
                "'task' runs once before the services and must exit 0");
      }
    } else if (name == "ready") {
      if (!r.is_map(v, "ready", "{http: /up}")) continue;
      for (const auto& rf : v) {
        if (!r.known_key(rf.first, "ready", {"http"})) continue;
        auto path = r.string(rf.second, "ready.http");
        if (path && !path->starts_with('/')) {
          r.error(rf.second, fmt::format("ready.http must be a path, found '{}'", *path),
                  "write a path that starts with '/', e.g. /up");
        } else {
          p.ready_http = path;
        }
      }
    } else if (name == "stop_signal") {
      auto s = r.string(v, "stop_signal");
      if (!s) continue;
      p.stop_signal = parse_signal(*s);
      if (!p.stop_signal) {
        r.error(v, fmt::format("unknown signal '{}'", *s),
                "use a name such as SIGTERM, SIGINT, SIGQUIT or SIGUSR1");
      }
    } else if (name == "stop_timeout") {
      p.stop_timeout = r.duration(v, "stop_timeout");
    }
  }
  config.processes.push_back(std::move(p));
}

}  // namespace

bool valid_dns_label(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool valid_app_name(std::string_view name) {
  if (name.size() > 253) return false;
  for (;;) {
    const auto dot = name.find('.');
    if (!valid_dns_label(name.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

ProjectConfig parse_project_config(std::string_view text, const std::string& path,
                                   Diagnostics& errors) {
  ProjectConfig config;
  yaml::Reader r{path, errors};
  auto root = r.load_map(std::string(text));
  if (!root) return config;
  const char* label_fix = "use lower-case letters, digits and '-', up to 63, e.g. 'shop-admin'";
  for (const auto& entry : *root) {
    const YAML::Node& k = entry.first;
    const YAML::Node& v = entry.second;
    if (!r.known_key(k, "rp.yaml",
                     {"name", "aliases", "web", "formation", "idle_timeout", "boot_timeout",
                      "https", "boot_page", "env", "processes"})) {
      continue;
    }
    const std::string& key = k.Scalar();
    if (key == "name") {
      config.name = r.string(v, "name");
      config.name_position = position_of(v);
      if (config.name && !valid_dns_label(*config.name)) {
        r.error(v, fmt::format("name '{}' cannot be a host name", *config.name), label_fix);
        config.name.reset();
      }
    } else if (key == "aliases") {
      auto list = r.string_list(v, "aliases");
      if (!list) continue;
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (valid_dns_label((*list)[i])) {
          config.aliases.push_back((*list)[i]);
        } else {
          r.error(v[i], fmt::format("alias '{}' cannot be a host name", (*list)[i]), label_fix);
        }
      }
    } else if (key == "web") {
      config.web = r.string(v, "web");
      config.web_position = position_of(v);
    } else if (key == "formation") {
      if (!r.is_map(v, "formation", "{web: 1, worker: 2}")) continue;
      for (const auto& f : v) {
        auto count = r.integer(f.second, fmt::format("formation.{}", f.first.Scalar()), 0, 100);
        if (count) {
          config.formation[f.first.Scalar()] = *count;
          config.formation_positions[f.first.Scalar()] = position_of(f.first);
        }
      }
    } else if (key == "idle_timeout") {
      config.idle_timeout = r.duration(v, "idle_timeout");
    } else if (key == "boot_timeout") {
      config.boot_timeout = r.duration(v, "boot_timeout");
    } else if (key == "https") {
      auto value = r.string(v, "https");
      if (value == "redirect" || value == "both") {
        config.https_redirect = value == "redirect";
      } else if (value) {
        r.error(v, fmt::format("https must be 'redirect' or 'both', found '{}'", *value),
                "write 'https: redirect' (plain HTTP gets a 308 to HTTPS) or 'https: both'");
      }
    } else if (key == "boot_page") {
      config.boot_page = r.boolean(v, "boot_page");
    } else if (key == "env") {
      if (!r.is_map(v, "env", "{RAILS_ENV: development}")) continue;
      for (const auto& e : v) {
        // A name .env would refuse is refused here too: `A=B` would set A, and "" nothing.
        if (!valid_variable_name(e.first.Scalar())) {
          r.error(e.first, fmt::format("invalid variable name '{}' in env", e.first.Scalar()),
                  "names start with a letter or '_' and use letters, digits, '_' and '.'");
          continue;
        }
        if (auto value = r.string(e.second, fmt::format("env.{}", e.first.Scalar()))) {
          config.env[e.first.Scalar()] = *value;
        }
      }
    } else if (key == "processes") {
      if (!r.is_map(v, "processes", "{web: {stop_timeout: 5s}}")) continue;
      for (const auto& p : v) read_process(r, p.first, p.second, config);
    }
  }
  return config;
}

}  // namespace rp
