#include "supervisor/app/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace rp {
namespace {

// FNV-1a: stable across runs, builds and machines, unlike std::hash.
std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// 0 when `port` could be bound on `family`'s loopback, else the errno.
int try_bind(int family, int port) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  // SO_REUSEADDR as servers set it: connections in TIME_WAIT do not make a port "taken".
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

}  // namespace

int preferred_port(const std::string& app, const std::string& process, int instance,
                   PortRange range) {
  auto size = static_cast<std::uint32_t>(range.last - range.first + 1);
  auto key = app + "/" + process + "." + std::to_string(instance);
  return range.first + static_cast<int>(fnv1a(key) % size);
}

std::optional<int> assign_port(const std::string& app, const std::string& process, int instance,
                               PortRange range, const std::set<int>& assigned,
                               const std::function<bool(int)>& is_free) {
  int size = range.last - range.first + 1;
  int start = preferred_port(app, process, instance, range);
  for (int i = 0; i < size; ++i) {
    int port = range.first + (start - range.first + i) % size;
    if (!assigned.contains(port) && is_free(port)) return port;
  }
  return std::nullopt;
}

bool port_is_free(int port) {
  if (try_bind(AF_INET, port) != 0) return false;
  int v6 = try_bind(AF_INET6, port);
  // A machine without IPv6 cannot have the port taken there.
  return v6 == 0 || v6 == EAFNOSUPPORT || v6 == EADDRNOTAVAIL;
}

bool may_bind_privileged_port() {
  int err = try_bind(AF_INET, 80);
  // In use means binding was permitted; someone else holds it, which the proxy will report.
  return err == 0 || err == EADDRINUSE;
}

}  // namespace rp
