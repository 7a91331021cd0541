// Where the daemon listens and its clients connect: RP_HOME/rp.sock. Shared by both sides so that
// a deep RP_HOME is reached the same way by each.
#pragma once

#include <filesystem>
#include <string>

namespace rp::cmd {

// A Unix socket's path may be at most 107 bytes, and a deep RP_HOME is longer: such a path is
// reached through an open descriptor of its directory ("/proc/self/fd/N/rp.sock"). `holder` is
// that descriptor (or -1); close it once bound or connected.
std::string reachable_socket_path(const std::filesystem::path& socket, int& holder);

}  // namespace rp::cmd
