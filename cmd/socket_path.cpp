#include "cmd/socket_path.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/un.h>
#include <unistd.h>

namespace rp::cmd {

std::string reachable_socket_path(const std::filesystem::path& socket, int& holder) {
  holder = -1;
  const std::string full = socket.string();
  if (full.size() < sizeof(sockaddr_un{}.sun_path)) return full;
  holder = ::open(socket.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (holder < 0) return full;
  return fmt::format("/proc/self/fd/{}/{}", holder, socket.filename().string());
}

}  // namespace rp::cmd
