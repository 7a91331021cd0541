#include "supervisor/project/signals.hpp"

#include <fmt/format.h>

#include <csignal>

namespace rp {
namespace {

struct Named {
  const char* name;
  int number;
};
constexpr Named kSignals[] = {
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT}, {"SIGABRT", SIGABRT},
    {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
    {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM}, {"SIGWINCH", SIGWINCH},
    {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},   {"SIGILL", SIGILL},   {"SIGTRAP", SIGTRAP},
};

}  // namespace

std::optional<int> parse_signal(std::string_view name) {
  for (const auto& s : kSignals) {
    std::string_view full = s.name;
    if (name == full || name == full.substr(3)) return s.number;
  }
  return std::nullopt;
}

std::string signal_name(int signal) {
  for (const auto& s : kSignals) {
    if (s.number == signal) return s.name;
  }
  return fmt::format("signal {}", signal);
}

}  // namespace rp
