#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <string>

#include "supervisor/app/ports.hpp"

using rp::assign_port;
using rp::PortRange;
using rp::preferred_port;

namespace {

// The FNV-1a hash the port choice is documented to use, computed independently.
std::uint32_t reference_fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

bool always_free(int) {
  return true;
}

// A TCP socket listening on 127.0.0.1 on a port the kernel picks; closed on destruction.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Listener() { close(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
};

}  // namespace

TEST_CASE("ports: preferred_port is deterministic and in the range", "[ports]") {
  PortRange range;  // 20000-29999
  int a = preferred_port("shop", "web", 1, range);
  CHECK(a == preferred_port("shop", "web", 1, range));
  CHECK(a >= range.first);
  CHECK(a <= range.last);
  // stable across runs and builds: the documented FNV-1a of "app/process.instance"
  CHECK(a == 20000 + static_cast<int>(reference_fnv1a("shop/web.1") % 10000u));

  for (const char* app : {"shop", "blog", "a", "my-very-long-application-name"}) {
    for (const char* proc : {"web", "worker", "clock"}) {
      for (int i = 1; i <= 5; ++i) {
        int p = preferred_port(app, proc, i, range);
        CHECK(p >= range.first);
        CHECK(p <= range.last);
      }
    }
  }
  PortRange small{40000, 40004};
  for (int i = 1; i <= 50; ++i) {
    int p = preferred_port("shop", "web", i, small);
    CHECK(p >= 40000);
    CHECK(p <= 40004);
  }
  PortRange one{41000, 41000};
  CHECK(preferred_port("shop", "web", 1, one) == 41000);
}

TEST_CASE("ports: different instances, processes and apps usually differ", "[ports]") {
  PortRange range;
  std::set<int> seen;
  for (int i = 1; i <= 4; ++i) seen.insert(preferred_port("shop", "web", i, range));
  seen.insert(preferred_port("shop", "worker", 1, range));
  seen.insert(preferred_port("blog", "web", 1, range));
  // Deterministic inputs, so this either always holds or never does.
  CHECK(seen.size() == 6);
  CHECK(preferred_port("shop", "web", 1, range) != preferred_port("shop", "web", 2, range));
}

TEST_CASE("ports: assign_port takes the preferred port when it is free", "[ports]") {
  PortRange range;
  auto p = assign_port("shop", "web", 1, range, {}, always_free);
  REQUIRE(p.has_value());
  CHECK(*p == preferred_port("shop", "web", 1, range));
}

TEST_CASE("ports: assign_port skips assigned ports", "[ports]") {
  PortRange range{30000, 30099};
  int pref = preferred_port("shop", "web", 1, range);
  int next = pref == range.last ? range.first : pref + 1;
  int after = next == range.last ? range.first : next + 1;
  auto p = assign_port("shop", "web", 1, range, {pref}, always_free);
  REQUIRE(p.has_value());
  CHECK(*p == next);
  auto q = assign_port("shop", "web", 1, range, {pref, next}, always_free);
  REQUIRE(q.has_value());
  CHECK(*q == after);
}

TEST_CASE("ports: assign_port skips ports the check refuses", "[ports]") {
  PortRange range{30000, 30099};
  int pref = preferred_port("shop", "web", 1, range);
  int next = pref == range.last ? range.first : pref + 1;
  std::set<int> asked;
  auto p = assign_port("shop", "web", 1, range, {}, [&](int port) {
    asked.insert(port);
    return port != pref;
  });
  REQUIRE(p.has_value());
  CHECK(*p == next);
  CHECK(asked == std::set<int>{pref, next});
}

TEST_CASE("ports: assigned ports are not even checked", "[ports]") {
  PortRange range{30000, 30099};
  int pref = preferred_port("shop", "web", 1, range);
  bool asked_pref = false;
  auto p = assign_port("shop", "web", 1, range, {pref}, [&](int port) {
    if (port == pref) asked_pref = true;
    return true;
  });
  REQUIRE(p.has_value());
  CHECK(*p != pref);
  CHECK_FALSE(asked_pref);
}

TEST_CASE("ports: assign_port wraps around the end of the range", "[ports]") {
  PortRange range{30000, 30009};
  // find an instance whose preferred port is the last of the range
  int instance = 0;
  for (int i = 1; i < 1000; ++i) {
    if (preferred_port("shop", "web", i, range) == range.last) {
      instance = i;
      break;
    }
  }
  REQUIRE(instance > 0);
  auto p = assign_port("shop", "web", instance, range, {range.last}, always_free);
  REQUIRE(p.has_value());
  CHECK(*p == range.first);
  auto q = assign_port("shop", "web", instance, range, {},
                       [&](int port) { return port != range.last && port != range.first; });
  REQUIRE(q.has_value());
  CHECK(*q == range.first + 1);
}

TEST_CASE("ports: assign_port gives nullopt when the whole range is taken", "[ports]") {
  PortRange range{30000, 30009};
  std::set<int> all;
  for (int p = range.first; p <= range.last; ++p) all.insert(p);
  CHECK_FALSE(assign_port("shop", "web", 1, range, all, always_free).has_value());
  int calls = 0;
  CHECK_FALSE(assign_port("shop", "web", 1, range, {}, [&](int) {
                ++calls;
                return false;
              }).has_value());
  CHECK(calls == 10);  // every port asked once
  // taken in part by each: the one left over is found
  std::set<int> most(all);
  most.erase(30004);
  most.erase(30007);
  auto p = assign_port("shop", "web", 1, range, most, [](int port) { return port != 30004; });
  REQUIRE(p.has_value());
  CHECK(*p == 30007);
}

TEST_CASE("ports: port_is_free sees a real listener on 127.0.0.1", "[ports]") {
  Listener l;
  REQUIRE(l.port > 0);
  CHECK_FALSE(rp::port_is_free(l.port));
  l.close();
  CHECK(rp::port_is_free(l.port));
}
