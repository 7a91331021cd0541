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
  bool detach = false;  // -d: return once the web process is ready
  bool json = false;    // with -d: the daemon's answer as it is
};

struct DaemonArgs {
  bool foreground = false;
  bool quiet = false;  // say nothing when it starts (other commands starting it into a pipe)
  bool stop = false;   // `rp daemon stop`
};

struct StatusArgs {
  bool json = false;
};

struct LogsArgs {
  std::optional<std::string> target;  // APP or APP/PROC; all apps when unset
  bool follow = false;
  int lines = 100;
  bool json = false;  // the daemon's JSON lines as they come
};

struct ControlArgs {
  std::string action;                 // start, stop or restart
  std::optional<std::string> target;  // APP or APP/PROC; the current directory's app when unset
};

struct DownArgs {
  std::optional<std::string> app;
};

struct LinkArgs {
  ProjectArgs project;
  std::optional<std::string> name;
  bool json = false;  // the daemon's answer as it is
};

struct UnlinkArgs {
  std::optional<std::string> name;
};

struct RouteArgs {
  bool remove = false;  // `rp route rm NAME`
  std::string name;
  int port = 0;
};

struct SetupArgs {
  bool apply = false;               // --apply: make the changes (else only show them)
  bool undo = false;                // --undo: remove what an earlier --apply wrote
  std::optional<std::string> root;  // --root DIR: the system's files are under DIR, not /
};

struct TrustArgs {
  bool apply = false;               // --apply: add rp's CA to the stores (else only show them)
  bool undo = false;                // --undo: remove what an earlier --apply added
  std::optional<std::string> root;  // --root DIR: the system's files and the home are under DIR
};

struct DoctorArgs {
  bool json = false;
  std::optional<std::string> root;  // --root DIR: read the resolver's files under DIR
};

// `rp export systemd [DIR]`.
struct ExportArgs {
  ProjectArgs project;             // -f, -e, -m
  std::optional<std::string> dir;  // DIR; default: the user's systemd unit directory
};

int up(const UpArgs& args);
int check(const ProjectArgs& args, bool json);
int run(const ProjectArgs& args, const std::vector<std::string>& command);
int export_systemd(const ExportArgs& args);
int setup(const SetupArgs& args);
int trust(const TrustArgs& args);
int doctor(const DoctorArgs& args);
int daemon(const DaemonArgs& args);
int status(const StatusArgs& args);
int logs(const LogsArgs& args);
int control(const ControlArgs& args);
int down(const DownArgs& args);
int link(const LinkArgs& args);
int unlink(const UnlinkArgs& args);
int route(const RouteArgs& args);

}  // namespace rp::cmd
