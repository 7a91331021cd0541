#include "supervisor/project/environment.hpp"

#include <fmt/format.h>

#include <random>

namespace rp {

EnvMap project_environment(const EnvMap& inherited, const EnvMap& project_env, const CaFiles& ca) {
  EnvMap env = inherited;
  for (const auto& [k, v] : project_env) env[k] = v;
  if (ca.certificate.empty()) return env;
  env["RP_CA_FILE"] = ca.certificate.string();
  // try_emplace: a value the user set, even an empty one, is theirs.
  env.try_emplace("NODE_EXTRA_CA_CERTS", ca.certificate.string());
  if (!ca.bundle.empty()) {
    env.try_emplace("SSL_CERT_FILE", ca.bundle.string());
    env.try_emplace("REQUESTS_CA_BUNDLE", ca.bundle.string());
  }
  return env;
}

EnvMap process_environment(const EnvMap& inherited, const EnvMap& project_env, const CaFiles& ca,
                           const InstanceIdentity& who) {
  EnvMap env = project_environment(inherited, project_env, ca);
  env["PORT"] = std::to_string(who.port);
  env["RP_APP"] = who.app;
  env["RP_PROCESS"] = fmt::format("{}.{}", who.process, who.instance);
  env["RP_URL"] = who.url;
  env["RP_RUN_ID"] = who.run_id;
  return env;
}

std::vector<std::string> environment_block(const EnvMap& env) {
  std::vector<std::string> block;
  block.reserve(env.size());
  for (const auto& [k, v] : env) block.push_back(k + "=" + v);
  return block;
}

std::string new_run_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

}  // namespace rp
