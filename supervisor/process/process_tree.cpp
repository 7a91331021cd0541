#include "supervisor/process/process_tree.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "supervisor/project/text.hpp"

namespace rp {
namespace {

struct Stat {
  char state = '?';
  pid_t pgid = 0;
};

// Parses /proc/PID/stat; the command name may hold spaces and ')', so fields are read after the
// last ')'.
bool read_stat(pid_t pid, Stat& out) {
  auto text = read_text_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return false;
  auto close = text->rfind(')');
  if (close == std::string::npos) return false;
  int ppid = 0;
  if (std::sscanf(text->c_str() + close + 1, " %c %d %d", &out.state, &ppid, &out.pgid) != 3) {
    return false;
  }
  return true;
}

template <typename F>
void for_each_pid(F&& f) {
  DIR* d = ::opendir("/proc");
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0) f(static_cast<pid_t>(pid));
  }
  ::closedir(d);
}

}  // namespace

bool process_alive(pid_t pid) {
  Stat s;
  return read_stat(pid, s) && s.state != 'Z' && s.state != 'X';
}

std::vector<pid_t> live_group_members(pid_t pgid) {
  std::vector<pid_t> out;
  for_each_pid([&](pid_t pid) {
    Stat s;
    if (read_stat(pid, s) && s.pgid == pgid && s.state != 'Z' && s.state != 'X') {
      out.push_back(pid);
    }
  });
  return out;
}

std::vector<pid_t> live_marked_processes(const std::string& run_id, bool prefix) {
  const std::string marker = "RP_RUN_ID=" + run_id;
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  for_each_pid([&](pid_t pid) {
    if (pid == self) return;
    auto env = read_text_file("/proc/" + std::to_string(pid) + "/environ");
    if (!env) return;
    std::string_view rest = *env;
    while (!rest.empty()) {
      auto nul = rest.find('\0');
      auto entry = rest.substr(0, nul);
      if (prefix ? entry.starts_with(marker) : entry == marker) {
        if (process_alive(pid)) out.push_back(pid);
        return;
      }
      if (nul == std::string_view::npos) break;
      rest.remove_prefix(nul + 1);
    }
  });
  return out;
}

}  // namespace rp
