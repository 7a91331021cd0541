// A project put together from its files: the Procfile (Procfile.dev first), the .env files and
// rp.yaml, checked against each other. This is what the supervisor runs; every name in it has
// been validated, so running it cannot fail on a typo.
#pragma once

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/dotenv.hpp"
#include "supervisor/project/duration.hpp"
#include "supervisor/project/global_config.hpp"
#include "supervisor/project/project_config.hpp"

namespace rp {

struct ProcessSpec {
  std::string name;
  std::string command;
  ProcessKind kind = ProcessKind::service;
  int count = 1;
  int stop_signal = SIGTERM;
  Duration stop_timeout = std::chrono::seconds(5);
  std::optional<std::string> ready_http;
};

struct Project {
  std::filesystem::path dir;
  std::string name;
  std::vector<std::string> aliases;
  bool https_redirect = false;        // plain-HTTP requests get a 308 to the HTTPS port
  bool boot_page = true;              // a browser navigation gets the boot page after 1 s
  std::string web;                    // the process that receives HTTP; empty when none runs
  std::vector<ProcessSpec> services;  // Procfile order, then those only in rp.yaml
  std::vector<ProcessSpec> tasks;     // rp.yaml order: the order they run in
  EnvMap env;                         // .env files, then rp.yaml env over them
  Duration idle_timeout{0};
  Duration boot_timeout = std::chrono::seconds(60);
};

// What the command line may say about a project (`rp up -f -e -m PROC...`).
struct LoadOptions {
  std::optional<std::filesystem::path> procfile;  // -f; its directory is the project's
  std::optional<std::vector<std::filesystem::path>> env_files;  // -e; else .env and .env.local
  std::optional<std::string> formation;                         // -m
  std::vector<std::string> only;                                // PROC...: the services to start
};

std::optional<Project> load_project(const std::filesystem::path& dir, const LoadOptions& options,
                                    const EnvMap& inherited, const GlobalConfig& global,
                                    Diagnostics& errors);

// A directory's name as a host name: lower-cased, runs of other characters made one '-'.
std::string dns_safe_name(std::string_view name);

// The name of the project in `dir`: `configured` (rp.yaml's `name`), else the directory's. In a
// linked git worktree it is BRANCH.NAME, NAME being the main checkout's project's name (its
// rp.yaml's, else its directory's), so that each worktree has its own URL and ports.
std::string project_name(const std::filesystem::path& dir,
                         const std::optional<std::string>& configured);

// `path` as the user would write it from the current directory.
std::string display_path(const std::filesystem::path& path);

}  // namespace rp
