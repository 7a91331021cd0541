// `rp setup`: make rp's TLDs resolve to rp, and ports 80/443 bindable, on this system. It shows
// what it would change and changes nothing without --apply; --undo removes exactly what an
// earlier --apply wrote. The decisions live in dnsproxy/system_resolver and setup_manifest; this
// file prints them, checks who is asking, and runs the few commands that make the system read
// its new configuration.
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "cmd/commands.hpp"
#include "cmd/load.hpp"
#include "dnsproxy/setup_manifest.hpp"
#include "dnsproxy/system_resolver.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/state/root_files.hpp"

extern char** environ;

namespace rp::cmd {
namespace {

namespace fs = std::filesystem;

std::string command_text(const dns::Command& command) {
  std::string out;
  for (const auto& word : command) out += (out.empty() ? "" : " ") + word;
  return out;
}

std::string commands_text(const std::vector<dns::Command>& commands) {
  std::string out;
  for (const auto& c : commands) out += (out.empty() ? "" : "; ") + command_text(c);
  return out;
}

// The command's exit status, or -1 when it could not be started (not installed).
int run_command(const dns::Command& command) {
  std::vector<std::string> words = command;
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Makes the running system take the new files (live system only), saying what was done.
bool run_commands(const std::vector<dns::Command>& commands) {
  bool ok = true;
  for (const auto& c : commands) {
    int status = run_command(c);
    if (status == 0) {
      fmt::print("ran: {}\n", command_text(c));
      continue;
    }
    ok = false;
    fmt::print(stderr, "rp setup: `{}` {} — run it yourself (or reboot)\n", command_text(c),
               status < 0 ? "could not be started" : fmt::format("exited with {}", status));
  }
  return ok;
}

void report(const dns::Outcome& outcome) {
  for (const auto& line : outcome.done) fmt::print("{}\n", line);
  for (const auto& line : outcome.errors) fmt::print(stderr, "rp setup: {}\n", line);
}

void not_run_under_root(const std::vector<dns::Command>& commands) {
  if (commands.empty()) return;
  fmt::print("not run with --root (they act on the running system): {}\n", commands_text(commands));
}

int undo(const fs::path& root, bool live) {
  dns::Manifest manifest;
  auto outcome = dns::undo_files(root, manifest);
  report(outcome);
  bool ok = outcome.errors.empty();
  auto commands = dns::undo_commands(manifest);
  if (live) {
    ok = run_commands(commands) && ok;
  } else {
    not_run_under_root(commands);
  }
  return ok ? 0 : 1;
}

}  // namespace

int setup(const SetupArgs& args) {
  auto loaded = load_global(current_environment());
  if (!loaded) return 1;
  const GlobalConfig& config = *loaded;
  const bool live = !args.root;
  const fs::path root = live ? fs::path("/") : fs::absolute(*args.root);
  if (!live && !fs::is_directory(root)) {
    fmt::print(stderr, "rp setup: --root {} is not a directory\n", root.string());
    return 1;
  }
  const char* action = args.undo ? "--undo" : "--apply";
  if ((args.apply || args.undo) && live && ::geteuid() != 0) {
    fmt::print(stderr,
               "rp setup {} changes system files and needs root: sudo rp setup {} (rp setup "
               "without it shows what would change)\n",
               action, action);
    return 1;
  }
  if (args.undo) return undo(root, live);

  auto files = dns::read_system_files(root, live);
  auto plan = dns::plan_setup(files, {config.tlds, config.dns_port});
  fmt::print("This system resolves names with {} ({}).\n", plan.detection.name,
             plan.detection.evidence);
  for (const auto& note : plan.notes) fmt::print("{}.\n", note);
  if (!args.apply) {
    if (plan.files.empty()) {
      fmt::print("rp setup has nothing to change here.\n");
      return 0;
    }
    for (const auto& f : plan.files) {
      fmt::print("\nrp setup --apply would write {}:\n", under_root(root, f.path).string());
      for (auto line : split_lines(f.text)) fmt::print("    {}\n", line);
    }
    if (live) fmt::print("\nand then run: {}\n", commands_text(plan.commands));
    fmt::print(
        "\nNothing was changed. To make these changes: sudo rp setup --apply "
        "(sudo rp setup --undo takes them back).\n");
    return 0;
  }
  auto outcome = dns::apply_files(root, plan.files, files.unprivileged_port_start);
  report(outcome);
  if (!outcome.errors.empty()) return 1;
  bool ok = true;
  if (live) {
    ok = run_commands(plan.commands);
  } else {
    not_run_under_root(plan.commands);
  }
  if (!plan.files.empty()) fmt::print("Check it end to end: rp doctor\n");
  return ok ? 0 : 1;
}

}  // namespace rp::cmd
