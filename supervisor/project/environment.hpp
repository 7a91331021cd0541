// The environment a process starts with, lowest precedence first: the environment of the rp
// command that registered the project (so PATH from nvm, rbenv or asdf works), the project's
// .env files and rp.yaml `env`, then what rp itself sets. Some of what rp sets is only offered:
// a variable the user's environment sets already, even to an empty value, keeps the user's value.
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

// What rp tells every process of every project alike.
struct RpEnvironment {
  CaFiles ca;
  std::vector<std::string> tlds;  // config.yaml's `tlds`, so dev servers accept rp's names
};

// What every process of a project shares: `inherited`, then `project_env` over it, then rp's:
// RP_CA_FILE always (rp's own variable); offered, where neither of the user's environments sets
// them, NODE_EXTRA_CA_CERTS (the CA), SSL_CERT_FILE and REQUESTS_CA_BUNDLE (the bundle), and
// __VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS (vite_allowed_hosts of the TLDs, when not empty).
EnvMap project_environment(const EnvMap& inherited, const EnvMap& project_env,
                           const RpEnvironment& rp);

// The project's environment with who the process is: PORT, RP_APP, RP_PROCESS, RP_URL, RP_RUN_ID.
EnvMap process_environment(const EnvMap& inherited, const EnvMap& project_env,
                           const RpEnvironment& rp, const InstanceIdentity& who);

// rp's TLDs as extra hosts for Vite's host check: each but `localhost` (which Vite always
// allows) with a leading dot, so that every name under it passes, comma-joined: ".test". Empty
// when no other TLD is left. Vite before 8.1 reads the variable as one host pattern, which a
// comma-joined list never matches: with several TLDs only Vite 8.1 and later accept them.
std::string vite_allowed_hosts(const std::vector<std::string>& tlds);

// A fresh random id, for RP_RUN_ID markers: two runs never claim each other's processes.
std::string new_run_id();

// "KEY=value" strings for execve.
std::vector<std::string> environment_block(const EnvMap& env);

}  // namespace rp
