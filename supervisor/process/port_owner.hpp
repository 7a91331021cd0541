// Which process holds a port: what `rp doctor` names when something other than rp sits on the DNS
// or HTTP port ("dnsmasq (pid 812) listens on 127.0.0.1:5300"). The kernel's socket tables in
// /proc/net give the socket's inode; /proc/PID/fd gives the process holding it. Without root only
// one's own processes can be seen, so "unknown" is an answer too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

enum class Protocol { udp, tcp };

// The inodes of sockets bound to `port` in one /proc/net/{udp,udp6,tcp,tcp6} table: for TCP the
// listening ones, for UDP the unconnected ones.
std::vector<std::uint64_t> bound_socket_inodes(std::string_view table, int port, Protocol protocol);

struct PortOwner {
  pid_t pid = 0;
  std::string name;  // /proc/PID/comm
};

// The first process found holding `port`, over IPv4 or IPv6; nullopt when none is visible.
std::optional<PortOwner> find_port_owner(int port, Protocol protocol);

}  // namespace rp
