// `rp setup`: make rp's TLDs resolve to rp, ports 80/443 bindable, and rp's CA trusted (the step
// of `rp trust`, cmd/trust), on this system. It shows what it would change and changes nothing
// without --apply; --undo removes exactly what an earlier --apply wrote. The decisions live in
// dnsproxy/system_resolver and setup_manifest; this file prints them, checks who is asking, and
// runs the few commands that make the system read its new configuration.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "cmd/commands.hpp"
#include "cmd/invoking_user.hpp"
#include "cmd/system_commands.hpp"
#include "cmd/trust.hpp"
#include "dnsproxy/setup_manifest.hpp"
#include "dnsproxy/system_resolver.hpp"
#include "supervisor/project/text.hpp"
#include "supervisor/state/root_files.hpp"

namespace rp::cmd {
namespace {

namespace fs = std::filesystem;

void report(const dns::Outcome& outcome) {
  for (const auto& line : outcome.done) fmt::print("{}\n", line);
  for (const auto& line : outcome.errors) fmt::print(stderr, "rp setup: {}\n", line);
}

int undo(const fs::path& root, bool live) {
  dns::Manifest manifest;
  auto outcome = dns::undo_files(root, manifest);
  report(outcome);
  bool ok = outcome.errors.empty();
  auto commands = dns::undo_commands(manifest);
  if (live) {
    ok = run_commands(commands, "rp setup") && ok;
  } else {
    say_not_run_under_root(commands);
  }
  return ok ? 0 : 1;
}

}  // namespace

int setup(const SetupArgs& args) {
  auto who = load_for_invoking_user();
  if (!who) return 1;
  const GlobalConfig& config = who->config;
  const bool live = !args.root;
  auto root = target_root(args.root, "rp setup");
  if (!root) return 1;
  const char* action = args.undo ? "--undo" : "--apply";
  if ((args.apply || args.undo) && !may_change_system(live, "setup", action)) return 1;
  const auto trust = trust_target(*who, *root, live);
  if (args.undo) {
    // In the reverse order of --apply: the trust step's record may sit in a directory that the
    // resolver's step created.
    fmt::print("rp's CA in the trust stores (rp trust --undo):\n");
    const bool trusted_undone = undo_trust(trust);
    fmt::print("\n");
    return undo(*root, live) == 0 && trusted_undone ? 0 : 1;
  }

  auto files = dns::read_system_files(*root, live);
  auto plan = dns::plan_setup(files, {config.tlds, config.dns_port});
  fmt::print("This system resolves names with {} ({}).\n", plan.detection.name,
             plan.detection.evidence);
  for (const auto& note : plan.notes) fmt::print("{}.\n", note);
  if (!args.apply) {
    if (plan.files.empty()) fmt::print("rp setup has no file to write for names or ports here.\n");
    for (const auto& f : plan.files) {
      fmt::print("\nrp setup --apply would write {}:\n", under_root(*root, f.path).string());
      for (auto line : split_lines(f.text)) fmt::print("    {}\n", line);
    }
    if (live && !plan.commands.empty()) {
      fmt::print("\nand then run: {}\n", commands_text(plan.commands));
    }
    fmt::print("\nand add rp's CA to the trust stores (rp trust):\n");
    if (!show_trust(trust)) return 1;
    fmt::print(
        "\nNothing was changed. To make these changes: sudo rp setup --apply "
        "(sudo rp setup --undo takes them back).\n");
    return 0;
  }
  auto outcome = dns::apply_files(*root, plan.files, files.unprivileged_port_start);
  report(outcome);
  if (!outcome.errors.empty()) return 1;
  bool ok = true;
  if (live) {
    ok = run_commands(plan.commands, "rp setup");
  } else {
    say_not_run_under_root(plan.commands);
  }
  fmt::print("\nrp's CA in the trust stores (rp trust --apply):\n");
  ok = apply_trust(trust) && ok;
  fmt::print("Check it end to end: rp doctor\n");
  return ok ? 0 : 1;
}

}  // namespace rp::cmd
