#include "supervisor/project/environment.hpp"

#include <fmt/format.h>

#include <random>

namespace rp {

EnvMap process_environment(const EnvMap& inherited, const EnvMap& project_env,
                           const InstanceIdentity& who) {
  EnvMap env = inherited;
  for (const auto& [k, v] : project_env) env[k] = v;
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
