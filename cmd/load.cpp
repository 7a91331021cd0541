#include "cmd/load.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "supervisor/project/text.hpp"

extern char** environ;

namespace rp::cmd {

EnvMap current_environment() {
  EnvMap env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string_view::npos) env[std::string(entry.substr(0, eq))] = entry.substr(eq + 1);
  }
  return env;
}

Loaded load(const ProjectArgs& args, const EnvMap& env) {
  Loaded out;
  out.global = load_global_config(env, out.errors);
  LoadOptions options;
  if (args.procfile) options.procfile = *args.procfile;
  if (args.env_files) {
    std::vector<std::filesystem::path> files;
    for (auto item : split_list(*args.env_files)) {
      if (!item.empty()) files.push_back(std::filesystem::absolute(item));
    }
    options.env_files = files;
  }
  options.formation = args.formation;
  options.only = args.processes;
  out.project = load_project(std::filesystem::current_path(), options, env, out.global, out.errors);
  if (!out.errors.empty()) out.project.reset();
  return out;
}

std::optional<GlobalConfig> load_global(const EnvMap& env) {
  Diagnostics errors;
  GlobalConfig config = load_global_config(env, errors);
  if (errors.empty()) return config;
  print_errors(errors);
  return std::nullopt;
}

void print_errors(const Diagnostics& errors) {
  for (const auto& e : errors) fmt::print(stderr, "{}\n", e.str());
}

}  // namespace rp::cmd
