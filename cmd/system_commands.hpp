// Running the system's own tools for `rp setup` and `rp trust` (systemctl, update-ca-certificates,
// certutil…): found on PATH, fed stdin and with their output kept when asked, and, when rp runs as
// root for a user (sudo), as that user, so that the files they touch in the user's home stay the
// user's.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp::cmd {

using Command = std::vector<std::string>;

// A user to run as.
struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct RunOptions {
  const Identity* as = nullptr;        // run as this user instead (rp is root)
  const std::string* input = nullptr;  // written to its stdin (else it reads rp's)
  std::string* output = nullptr;       // gets its stdout and stderr (else they are rp's)
};

// The command's exit status (128+N after signal N), or -1 when it could not be started (it is not
// installed, or is not on PATH).
int run_command(const Command& command, const RunOptions& options = {});

// Runs `work` in a child process as `as`; its result is the exit status (1 when the child could
// not become `as`).
int run_as(const Identity& as, const std::function<int()>& work);

// Where PATH finds `program`, if it does.
std::optional<std::string> find_program(const std::string& program);

std::string command_text(const Command& command);                 // "systemctl restart x"
std::string commands_text(const std::vector<Command>& commands);  // joined with "; "

// Runs each on the live system, saying "ran: …", or on stderr (after "`who`: ") that it failed and
// what to do; true when all of them exited 0.
bool run_commands(const std::vector<Command>& commands, std::string_view who);

// The root that `--root` names (it must be a directory), else "/"; nullopt after saying, as
// `who`, what is wrong.
std::optional<std::filesystem::path> target_root(const std::optional<std::string>& root,
                                                 std::string_view who);

// Whether `rp COMMAND ACTION` may change the system: under a --root, or as root; else it says
// how to run it (sudo) and the answer is false.
bool may_change_system(bool live, std::string_view command, std::string_view action);

// What a --root run leaves out: "not run with --root (they act on the running system): …".
void say_not_run_under_root(const std::vector<Command>& commands);

}  // namespace rp::cmd
