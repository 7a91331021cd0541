// `rp run CMD...`: a one-off command with the project's environment (a console, a migration).
// rp replaces itself with the command, so its exit status, signals and terminal are the command's.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/load.hpp"
#include "proxy/tls/local_ca.hpp"
#include "supervisor/project/environment.hpp"

namespace rp::cmd {
namespace {

// rp's CA as the daemon's processes are told of it: opened (made, when no daemon ever ran) unless
// HTTPS is off. Its warnings are the daemon's to give; a CA that cannot be had is said once.
CaFiles ca_files(const GlobalConfig& global, const std::filesystem::path& home) {
  if (global.https_port == 0) return {};
  std::string error;
  auto ca = tls::LocalCa::open(home / "ca", global.tlds, error);
  if (!ca) {
    fmt::print(stderr, "rp run: no RP_CA_FILE: {}\n", error);
    return {};
  }
  return {ca->certificate_file(), ca->bundle_file()};
}

}  // namespace

int run(const ProjectArgs& args, const std::vector<std::string>& command) {
  EnvMap inherited = current_environment();
  auto loaded = load(args, inherited);
  if (!loaded.project) {
    print_errors(loaded.errors);
    return 1;
  }
  EnvMap env =
      project_environment(inherited, loaded.project->env,
                          {ca_files(loaded.global, rp_home(inherited)), loaded.global.tlds});
  env["RP_APP"] = loaded.project->name;
  auto block = environment_block(env);
  std::vector<char*> envp;
  for (auto& e : block) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_store = command;
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execvpe(argv[0], argv.data(), envp.data());
  fmt::print(stderr, "rp run: cannot run '{}': {}\n", command[0], std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

}  // namespace rp::cmd
