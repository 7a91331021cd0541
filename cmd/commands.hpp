// The commands of the rp executable. main.cpp wires them to CLI11; each lives in its own file.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rp::cmd {

// What every command that reads a project accepts.
struct ProjectArgs {
  std::optional<std::string> procfile;   // -f
  std::optional<std::string> env_files;  // -e a,b
  std::optional<std::string> formation;  // -m web=2
  std::vector<std::string> processes;    // PROC...
};

struct UpArgs {
  ProjectArgs project;
  bool timestamps = false;
  bool exit_on_error = false;
};

int up(const UpArgs& args);
int check(const ProjectArgs& args, bool json);
int run(const ProjectArgs& args, const std::vector<std::string>& command);

}  // namespace rp::cmd
