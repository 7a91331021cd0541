#include "supervisor/project/environment.hpp"

#include <fmt/format.h>

#include <random>

namespace rp {

namespace {

// The variables rp offers, each only where the user's environment does not set it.
EnvMap offers(const RpEnvironment& rp) {
  EnvMap offered;
  const CaFiles& ca = rp.ca;
  if (!ca.certificate.empty()) {
    offered["NODE_EXTRA_CA_CERTS"] = ca.certificate.string();
    if (!ca.bundle.empty()) {
      offered["SSL_CERT_FILE"] = ca.bundle.string();
      offered["REQUESTS_CA_BUNDLE"] = ca.bundle.string();
    }
  }
  if (auto hosts = vite_allowed_hosts(rp.tlds); !hosts.empty()) {
    offered["__VITE_ADDITIONAL_SERVER_ALLOWED_HOSTS"] = std::move(hosts);
  }
  return offered;
}

}  // namespace

EnvMap project_environment(const EnvMap& inherited, const EnvMap& project_env,
                           const RpEnvironment& rp) {
  EnvMap env = inherited;
  for (const auto& [k, v] : project_env) env[k] = v;
  // try_emplace: a value the user set, even an empty one, is theirs.
  for (auto& [k, v] : offers(rp)) env.try_emplace(k, std::move(v));
  if (!rp.ca.certificate.empty()) env["RP_CA_FILE"] = rp.ca.certificate.string();
  return env;
}

EnvMap process_environment(const EnvMap& inherited, const EnvMap& project_env,
                           const RpEnvironment& rp, const InstanceIdentity& who) {
  EnvMap env = project_environment(inherited, project_env, rp);
  env["PORT"] = std::to_string(who.port);
  env["RP_APP"] = who.app;
  env["RP_PROCESS"] = fmt::format("{}.{}", who.process, who.instance);
  env["RP_URL"] = who.url;
  env["RP_RUN_ID"] = who.run_id;
  return env;
}

std::string vite_allowed_hosts(const std::vector<std::string>& tlds) {
  std::string hosts;
  for (const auto& tld : tlds) {
    if (tld == "localhost") continue;
    if (!hosts.empty()) hosts += ',';
    hosts += "." + tld;
  }
  return hosts;
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
