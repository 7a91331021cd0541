#include "supervisor/app/process_host.hpp"

#include <fmt/format.h>

#include <csignal>

#include "supervisor/app/ports.hpp"
#include "supervisor/process/guardian.hpp"
#include "supervisor/process/port_owner.hpp"
#include "supervisor/process/process_tree.hpp"
#include "supervisor/state/group_record.hpp"

namespace rp {

SystemProcessHost::SystemProcessHost(Guardian& guardian, GroupRecord& groups,
                                     std::string run_id_prefix)
    : guardian_(guardian), groups_(groups), run_id_prefix_(std::move(run_id_prefix)) {}

std::optional<Spawned> SystemProcessHost::spawn(const SpawnRequest& request, std::string& error) {
  return spawn_process(request, error);
}

void SystemProcessHost::adopt(pid_t group) {
  guardian_.watch(group);
  groups_.add(group, run_id_prefix_);
}

void SystemProcessHost::release(pid_t group) {
  guardian_.forget(group);
  groups_.remove(group);
}

void SystemProcessHost::signal_group(pid_t group, int signal) {
  if (group > 0) ::kill(-group, signal);
}

bool SystemProcessHost::group_alive(pid_t group) {
  return !live_group_members(group).empty();
}

std::vector<pid_t> SystemProcessHost::escaped(const std::string& run_id) {
  if (run_id.empty()) return {};
  return live_marked_processes(run_id);
}

void SystemProcessHost::signal(pid_t pid, int signal) {
  if (pid > 0) ::kill(pid, signal);
}

bool SystemProcessHost::port_free(int port) {
  return port_is_free(port);
}

std::optional<std::string> SystemProcessHost::port_holder(int port) {
  auto owner = find_port_owner(port, Protocol::tcp);
  if (!owner) return std::nullopt;
  return fmt::format("{} (pid {})", owner->name, owner->pid);
}

}  // namespace rp
