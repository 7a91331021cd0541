#include "supervisor/process/port_owner.hpp"

#include <charconv>
#include <filesystem>

#include "supervisor/project/text.hpp"

namespace rp {
namespace {

namespace fs = std::filesystem;

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class T>
std::optional<T> number(std::string_view s, int base) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<std::uint64_t> bound_socket_inodes(std::string_view table, int port,
                                               Protocol protocol) {
  // "sl local_address rem_address st ... uid timeout inode": local is HEXADDR:HEXPORT.
  const std::string_view wanted_state = protocol == Protocol::tcp ? "0A" : "07";
  std::vector<std::uint64_t> inodes;
  for (auto line : split_lines(table)) {
    auto f = fields(line);
    if (f.size() < 10 || f[0] == "sl") continue;
    auto colon = f[1].rfind(':');
    if (colon == std::string_view::npos) continue;
    auto local_port = number<int>(f[1].substr(colon + 1), 16);
    auto inode = number<std::uint64_t>(f[9], 10);
    if (local_port == port && f[3] == wanted_state && inode && *inode != 0) {
      inodes.push_back(*inode);
    }
  }
  return inodes;
}

std::optional<PortOwner> find_port_owner(int port, Protocol protocol) {
  std::vector<std::string> wanted;
  const char* tables[2] = {protocol == Protocol::tcp ? "/proc/net/tcp" : "/proc/net/udp",
                           protocol == Protocol::tcp ? "/proc/net/tcp6" : "/proc/net/udp6"};
  for (const char* table : tables) {
    if (auto text = read_text_file(table)) {
      for (auto inode : bound_socket_inodes(*text, port, protocol)) {
        wanted.push_back("socket:[" + std::to_string(inode) + "]");
      }
    }
  }
  if (wanted.empty()) return std::nullopt;
  std::error_code ec;
  // Processes come and go while this runs: every step takes an error_code, none throws.
  for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
    auto pid = number<pid_t>(proc->path().filename().string(), 10);
    if (!pid) continue;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(proc->path() / "fd", fd_ec); !fd_ec && fd != end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      auto target = fs::read_symlink(fd->path(), link_ec).string();
      if (link_ec || !target.starts_with("socket:[")) continue;
      for (const auto& w : wanted) {
        if (target != w) continue;
        auto comm = read_text_file(proc->path() / "comm");
        return PortOwner{*pid, comm ? std::string(trim(*comm)) : "?"};
      }
    }
  }
  return std::nullopt;
}

}  // namespace rp
