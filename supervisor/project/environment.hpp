// The environment a process starts with, lowest precedence first: the environment of the rp
// command that registered the project (so PATH from nvm, rbenv or asdf works), the project's
// .env files and rp.yaml `env`, then what rp itself sets.
#pragma once

#include <string>
#include <vector>

#include "supervisor/project/dotenv.hpp"

namespace rp {

// Who a process is, as rp tells it through the environment.
struct InstanceIdentity {
  std::string app;
  std::string process;  // "web"
  int instance = 1;     // RP_PROCESS is "web.1"
  int port = 0;
  std::string url;     // RP_URL, the app's URL through the proxy
  std::string run_id;  // RP_RUN_ID: marks every descendant, so none escapes a stop
};

EnvMap process_environment(const EnvMap& inherited, const EnvMap& project_env,
                           const InstanceIdentity& who);

// A fresh random id, for RP_RUN_ID markers: two runs never claim each other's processes.
std::string new_run_id();

// "KEY=value" strings for execve.
std::vector<std::string> environment_block(const EnvMap& env);

}  // namespace rp
