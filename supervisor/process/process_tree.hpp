// What /proc says about the processes rp started and their descendants. A zombie counts as gone:
// it holds no resources, and on some machines nobody reaps orphans.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rp {

// Live processes in process group `pgid`.
std::vector<pid_t> live_group_members(pid_t pgid);

// Live processes whose environment carries RP_RUN_ID=`run_id`: every descendant of a process rp
// started, including those that left its process group (setsid, double fork). With `prefix`, any
// RP_RUN_ID that starts with `run_id`: every run of every app of one daemon.
std::vector<pid_t> live_marked_processes(const std::string& run_id, bool prefix = false);

bool process_alive(pid_t pid);

}  // namespace rp
