// The rp executable: the command line, and nothing else. Each command is in its own file.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>

#include "cmd/commands.hpp"

namespace {

void add_project_options(CLI::App* cmd, rp::cmd::ProjectArgs& args) {
  cmd->add_option("-f,--procfile", args.procfile,
                  "Procfile to run (default: Procfile.dev, else Procfile); its directory is the "
                  "project's");
  cmd->add_option("-e,--env", args.env_files,
                  "comma-separated env files to read instead of .env and .env.local");
}

}  // namespace

int main(int argc, char** argv) {
  // A closed output pipe must not kill rp: it would leave its processes behind.
  std::signal(SIGPIPE, SIG_IGN);
  // A proxy holds two descriptors per request in flight: take all the system allows.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  CLI::App app{"rp — every project on this machine gets a name: http://NAME.test"};
  app.set_version_flag("--version", "rp 0.1.0");
  app.require_subcommand(1);

  rp::cmd::UpArgs up;
  auto* up_cmd = app.add_subcommand("up",
                                    "Start the project in this directory and show its output "
                                    "until Ctrl-C");
  add_project_options(up_cmd, up.project);
  up_cmd->add_option("-m,--formation", up.project.formation,
                     "instances per process, e.g. web=2,worker=1 (all=N for every process)");
  up_cmd->add_flag("-t,--timestamps", up.timestamps, "prefix every line with the time");
  up_cmd->add_flag("--exit-on-error", up.exit_on_error,
                   "when any process exits, stop all and exit with its status (foreman's way)");
  up_cmd->add_option("PROC", up.project.processes, "only start these services");
  up_cmd->callback([&] { std::exit(rp::cmd::up(up)); });

  rp::cmd::ProjectArgs check_args;
  bool check_json = false;
  auto* check_cmd = app.add_subcommand(
      "check", "Validate the Procfile, .env files and rp.yaml and say what is wrong where");
  add_project_options(check_cmd, check_args);
  check_cmd->add_option("-m,--formation", check_args.formation, "check this formation too");
  check_cmd->add_flag("--json", check_json, "machine-readable output");
  check_cmd->callback([&] { std::exit(rp::cmd::check(check_args, check_json)); });

  rp::cmd::ProjectArgs run_args;
  auto* run_cmd = app.add_subcommand(
      "run", "Run a one-off command with the project's environment: rp run [-f ..] [-e ..] CMD...");
  add_project_options(run_cmd, run_args);
  // Everything from the first word that is not rp's own option on is the command, verbatim.
  run_cmd->prefix_command();
  run_cmd->footer("CMD... is run as given (no shell), with .env and rp.yaml env applied.");
  run_cmd->callback([&] {
    auto command = run_cmd->remaining();
    if (command.empty()) throw CLI::RequiredError("CMD");
    std::exit(rp::cmd::run(run_args, command));
  });

  rp::cmd::SetupArgs setup_args;
  auto* setup_cmd = app.add_subcommand(
      "setup",
      "Make *.test (each TLD) resolve to rp and ports 80/443 usable on this system; "
      "shows the changes, --apply makes them");
  auto* apply_flag = setup_cmd->add_flag("--apply", setup_args.apply,
                                         "write the changes (as root) and reload the resolver");
  setup_cmd->add_flag("--undo", setup_args.undo, "remove exactly what rp setup --apply wrote")
      ->excludes(apply_flag);
  setup_cmd->add_option("--root", setup_args.root,
                        "the system's files are under DIR instead of / (nothing is restarted)");
  setup_cmd->callback([&] { std::exit(rp::cmd::setup(setup_args)); });

  rp::cmd::DoctorArgs doctor_args;
  auto* doctor_cmd = app.add_subcommand(
      "doctor",
      "Check end to end that rp's names resolve and answer here, and say how to fix "
      "what does not");
  doctor_cmd->add_flag("--json", doctor_args.json, "machine-readable output");
  doctor_cmd->add_option("--root", doctor_args.root,
                         "read the resolver configuration under DIR instead of /");
  doctor_cmd->callback([&] { std::exit(rp::cmd::doctor(doctor_args)); });

  CLI11_PARSE(app, argc, argv);
  return 0;
}
