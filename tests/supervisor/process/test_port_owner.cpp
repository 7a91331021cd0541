#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "supervisor/process/port_owner.hpp"

using namespace rp;

TEST_CASE("socket tables give the inodes bound to a port") {
  const char* udp =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode ref pointer drops\n"
      "  246: 0100007F:14B4 00000000:0000 07 00000000:00000000 00:00000000 00000000     0     "
      "   0 4242 2 0000000000000000 0\n"
      "  247: 0100007F:14B5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0     "
      "   0 4343 2 0000000000000000 0\n"
      "  248: 0100007F:14B4 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0     "
      "   0 4444 2 0000000000000000 0\n";
  CHECK(bound_socket_inodes(udp, 5300, Protocol::udp) == std::vector<std::uint64_t>{4242});
  CHECK(bound_socket_inodes(udp, 5301, Protocol::udp) == std::vector<std::uint64_t>{4343});
  CHECK(bound_socket_inodes(udp, 5300, Protocol::tcp).empty());
  const char* tcp6 =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:1E64 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n";
  CHECK(bound_socket_inodes(tcp6, 7780, Protocol::tcp) == std::vector<std::uint64_t>{777});
  CHECK(bound_socket_inodes("garbage\n\n:::\n", 80, Protocol::tcp).empty());
}
