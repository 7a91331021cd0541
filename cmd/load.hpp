// Reading the current project the same way for every command, and reporting its mistakes.
#pragma once

#include <optional>

#include "cmd/commands.hpp"
#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/dotenv.hpp"
#include "supervisor/project/global_config.hpp"
#include "supervisor/project/project.hpp"

namespace rp::cmd {

// This process's environment: what the project's processes inherit.
EnvMap current_environment();

struct Loaded {
  GlobalConfig global;
  std::optional<Project> project;  // nullopt when `errors` is not empty
  Diagnostics errors;
};

Loaded load(const ProjectArgs& args, const EnvMap& env);

// rp's global settings alone, for commands that need no project (setup, doctor); nullopt after
// printing the mistakes in config.yaml or the RP_* variables.
std::optional<GlobalConfig> load_global(const EnvMap& env);

// One diagnostic a line on stderr.
void print_errors(const Diagnostics& errors);

}  // namespace rp::cmd
