// The environment a process starts with, lowest precedence first: the environment of the rp
// command that registered the project (so PATH from nvm, rbenv or asdf works), the project's
// .env files and rp.yaml `env`, then what rp itself sets.
#pragma once

#include <filesystem>
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

// rp's local CA as files, so that processes calling each other over https://NAME.test trust it.
// Both empty when HTTPS is off or the CA could not be had; `bundle` alone empty when it could
// not be written.
struct CaFiles {
  std::filesystem::path certificate;  // RP_HOME/ca/rp-ca.pem
  std::filesystem::path bundle;       // RP_HOME/ca/bundle.pem: the system's CAs, then rp's
};

// What every process of a project shares: `inherited`, then `project_env` over it, then rp's CA:
// RP_CA_FILE always (rp's own variable), and NODE_EXTRA_CA_CERTS (the CA), SSL_CERT_FILE and
// REQUESTS_CA_BUNDLE (the bundle) where neither of the user's environments set them.
EnvMap project_environment(const EnvMap& inherited, const EnvMap& project_env, const CaFiles& ca);

// The project's environment with who the process is: PORT, RP_APP, RP_PROCESS, RP_URL, RP_RUN_ID.
EnvMap process_environment(const EnvMap& inherited, const EnvMap& project_env, const CaFiles& ca,
                           const InstanceIdentity& who);

// A fresh random id, for RP_RUN_ID markers: two runs never claim each other's processes.
std::string new_run_id();

// "KEY=value" strings for execve.
std::vector<std::string> environment_block(const EnvMap& env);

}  // namespace rp
