// The rp executable: the command line, and nothing else. Each command is in its own file.
#include <fmt/format.h>
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
  auto* detach_flag =
      up_cmd->add_flag("-d,--detach", up.detach,
                       "return once the web process is ready and leave the project to the daemon");
  up_cmd->add_flag("--json", up.json, "with -d: machine-readable output ({\"app\", \"url\", ...})")
      ->needs(detach_flag);
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

  rp::cmd::ExportArgs export_args;
  auto* export_cmd = app.add_subcommand(
      "export", "Write the project's processes as units of another supervisor: rp export systemd");
  export_cmd->require_subcommand(1);
  auto* systemd_cmd = export_cmd->add_subcommand(
      "systemd",
      "Write NAME.target and a unit per process instance into DIR (default: "
      "~/.config/systemd/user), replacing an earlier export's");
  add_project_options(systemd_cmd, export_args.project);
  systemd_cmd->add_option("-m,--formation", export_args.project.formation,
                          "instances per process, e.g. web=2,worker=1 (all=N for every process)");
  systemd_cmd->add_option("DIR", export_args.dir,
                          "where the units go (made if missing; default: "
                          "${XDG_CONFIG_HOME:-~/.config}/systemd/user)");
  systemd_cmd->callback([&] { std::exit(rp::cmd::export_systemd(export_args)); });

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

  rp::cmd::TrustArgs trust_args;
  auto* trust_cmd = app.add_subcommand(
      "trust",
      "Install rp's local CA into the system's trust store and the NSS databases of Chromium "
      "and Firefox; shows the changes, --apply makes them");
  auto* trust_apply = trust_cmd->add_flag(
      "--apply", trust_args.apply,
      "add the CA (as root: sudo rp trust --apply) and run the system's update command");
  trust_cmd->add_flag("--undo", trust_args.undo, "remove exactly what rp trust --apply added")
      ->excludes(trust_apply);
  trust_cmd
      ->add_option("--root", trust_args.root,
                   "the system's files and the user's home (DIR$HOME) are under DIR "
                   "instead of / (the system's update commands are not run)")
      ->type_name("DIR");
  trust_cmd->footer(
      "The user is the one in SUDO_USER under sudo, else the one running rp; their home holds "
      "the NSS databases, their RP_HOME the CA (RP_HOME/ca/rp-ca.pem). What --apply adds is "
      "recorded in /var/lib/rp/trust-manifest.");
  trust_cmd->callback([&] { std::exit(rp::cmd::trust(trust_args)); });

  rp::cmd::DoctorArgs doctor_args;
  auto* doctor_cmd = app.add_subcommand(
      "doctor",
      "Check end to end that rp's names resolve and answer here, and say how to fix "
      "what does not");
  doctor_cmd->add_flag("--json", doctor_args.json, "machine-readable output");
  doctor_cmd->add_option("--root", doctor_args.root,
                         "read the resolver configuration under DIR instead of /");
  doctor_cmd->callback([&] { std::exit(rp::cmd::doctor(doctor_args)); });

  rp::cmd::DaemonArgs daemon_args;
  auto* daemon_cmd = app.add_subcommand(
      "daemon",
      "The per-user daemon that runs every app, the proxy and the DNS responder (other "
      "commands start it when needed)");
  daemon_cmd->add_flag("--foreground", daemon_args.foreground,
                       "stay in the foreground and log to stdout (for a systemd user unit)");
  daemon_cmd->add_flag("--quiet", daemon_args.quiet, "say nothing once it has started");
  auto* daemon_stop = daemon_cmd->add_subcommand("stop", "Stop the daemon and every app it runs");
  daemon_stop->callback([&] { daemon_args.stop = true; });
  daemon_cmd->final_callback([&] { std::exit(rp::cmd::daemon(daemon_args)); });

  rp::cmd::StatusArgs status_args;
  for (const char* name : {"ls", "status"}) {
    auto* cmd = app.add_subcommand(
        name, "The apps and routes: processes, state, port, pid, uptime and URL");
    cmd->add_flag("--json", status_args.json, "machine-readable output (the API's /v1/status)");
    cmd->callback([&] { std::exit(rp::cmd::status(status_args)); });
  }

  rp::cmd::LogsArgs logs_args;
  auto* logs_cmd = app.add_subcommand("logs", "Recent output of an app (or all), and follow it");
  logs_cmd->add_option("TARGET", logs_args.target, "APP or APP/PROC (default: every app)");
  logs_cmd->add_flag("-f,--follow", logs_args.follow, "keep printing new lines until Ctrl-C");
  logs_cmd->add_flag("--json", logs_args.json,
                     "machine-readable output: a JSON object a line (the API's /v1/logs)");
  logs_cmd->add_option("-n,--lines", logs_args.lines, "how many recent lines (default 100)")
      ->check(CLI::Range(0, 1000000));
  logs_cmd->callback([&] { std::exit(rp::cmd::logs(logs_args)); });

  rp::cmd::ControlArgs control_args;
  for (const char* action : {"start", "stop", "restart"}) {
    auto* cmd = app.add_subcommand(
        action, fmt::format("{} an app or one of its processes: APP[/PROC] (default: this "
                            "directory's app)",
                            action == std::string("start")  ? "Start"
                            : action == std::string("stop") ? "Stop"
                                                            : "Restart"));
    cmd->add_option("TARGET", control_args.target, "APP or APP/PROC");
    cmd->callback([&, action] {
      control_args.action = action;
      std::exit(rp::cmd::control(control_args));
    });
  }

  rp::cmd::DownArgs down_args;
  auto* down_cmd =
      app.add_subcommand("down", "Stop a project's processes (default: this directory's)");
  down_cmd->add_option("APP", down_args.app, "the app to stop");
  down_cmd->callback([&] { std::exit(rp::cmd::down(down_args)); });

  rp::cmd::LinkArgs link_args;
  auto* link_cmd = app.add_subcommand(
      "link", "Register this directory's project for good: its first request starts it");
  add_project_options(link_cmd, link_args.project);
  link_cmd->add_option("NAME", link_args.name,
                       "the name it answers to (default: rp.yaml's, else the directory's)");
  link_cmd->add_flag("--json", link_args.json, "machine-readable output ({\"app\", \"url\"})");
  link_cmd->callback([&] { std::exit(rp::cmd::link(link_args)); });

  rp::cmd::UnlinkArgs unlink_args;
  auto* unlink_cmd = app.add_subcommand("unlink", "Undo `rp link` (default: this directory's app)");
  unlink_cmd->add_option("NAME", unlink_args.name, "the linked app");
  unlink_cmd->callback([&] { std::exit(rp::cmd::unlink(unlink_args)); });

  rp::cmd::RouteArgs route_args;
  std::vector<std::string> route_words;
  auto* route_cmd = app.add_subcommand(
      "route", "A name for a server rp does not run: rp route NAME PORT, rp route rm NAME");
  route_cmd->add_option("ARGS", route_words, "NAME PORT, or rm NAME")->required()->expected(2);
  route_cmd->callback([&] {
    if (route_words[0] == "rm") {
      route_args.remove = true;
      route_args.name = route_words[1];
    } else {
      route_args.name = route_words[0];
      try {
        std::size_t used = 0;
        route_args.port = std::stoi(route_words[1], &used);
        if (used != route_words[1].size()) throw std::invalid_argument("port");
      } catch (const std::exception&) {
        throw CLI::ValidationError("PORT", "must be a number from 1 to 65535");
      }
      if (route_args.port < 1 || route_args.port > 65535) {
        throw CLI::ValidationError("PORT", "must be a number from 1 to 65535");
      }
    }
    std::exit(rp::cmd::route(route_args));
  });

  CLI11_PARSE(app, argc, argv);
  return 0;
}
