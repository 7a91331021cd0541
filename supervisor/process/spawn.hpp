// Starting one process the way rp runs them all: the program itself when the command needs no
// shell (plain words and $NAME expansions: shell_command.hpp), else under `/bin/sh -c` (through
// `exec` when the command is a simple one, so the pid is the app's); in its own process group (so
// a stop reaches everything it started), killed by the kernel if rp dies (PR_SET_DEATHSIG), stdin
// from /dev/null, stdout and stderr into one pipe so their order is kept. The child is made with
// clone(CLONE_VM | CLONE_VFORK), as posix_spawn makes one: no copy of the daemon's memory map.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rp {

struct SpawnRequest {
  std::string command;           // as the Procfile has it
  std::vector<std::string> env;  // "KEY=value"
  std::filesystem::path dir;
};

struct Spawned {
  pid_t pid = -1;      // also the process group id
  int output_fd = -1;  // read end of the stdout+stderr pipe, owned by the caller
};

// Call from one thread only (the daemon's).
std::optional<Spawned> spawn_process(const SpawnRequest& request, std::string& error);

}  // namespace rp
