// What an app asks of the operating system, as one interface: start a process, signal a process
// group, ask whether a group still has members, find processes that escaped their group (they
// carry the run's RP_RUN_ID), and whether a port is free. The daemon gives every app the system's
// (SystemProcessHost); the app's unit tests give it a fake whose processes exit when the test
// says, so the phases of an app are tested without forking anything.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "supervisor/process/spawn.hpp"

namespace rp {

class Guardian;
class GroupRecord;

class ProcessHost {
 public:
  virtual ~ProcessHost() = default;

  // Starts a process in a group of its own. Its exit reaches App::on_child_exit.
  virtual std::optional<Spawned> spawn(const SpawnRequest& request, std::string& error) = 0;
  // Remembered until released, so that a daemon killed meanwhile still has it stopped.
  virtual void adopt(pid_t group) = 0;
  virtual void release(pid_t group) = 0;
  virtual void signal_group(pid_t group, int signal) = 0;
  // True while any process of the group is alive (a zombie is not).
  virtual bool group_alive(pid_t group) = 0;
  // Processes of a run that left their group (setsid, a double fork), found by RP_RUN_ID.
  virtual std::vector<pid_t> escaped(const std::string& run_id) = 0;
  virtual void signal(pid_t pid, int signal) = 0;
  virtual bool port_free(int port) = 0;
  // "dnsmasq (pid 812)", or nullopt when the holder of `port` cannot be seen.
  virtual std::optional<std::string> port_holder(int port) = 0;
};

// The real thing: spawn_process, kill(2), /proc, the guardian and RP_HOME/run/groups.
class SystemProcessHost : public ProcessHost {
 public:
  SystemProcessHost(Guardian& guardian, GroupRecord& groups, std::string run_id_prefix);

  std::optional<Spawned> spawn(const SpawnRequest& request, std::string& error) override;
  void adopt(pid_t group) override;
  void release(pid_t group) override;
  void signal_group(pid_t group, int signal) override;
  bool group_alive(pid_t group) override;
  std::vector<pid_t> escaped(const std::string& run_id) override;
  void signal(pid_t pid, int signal) override;
  bool port_free(int port) override;
  std::optional<std::string> port_holder(int port) override;

 private:
  Guardian& guardian_;
  GroupRecord& groups_;
  std::string run_id_prefix_;
};

}  // namespace rp
