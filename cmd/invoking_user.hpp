// Whom rp acts for when it changes things in a user's home (`rp trust`, `rp setup`): the user who
// ran it, also through sudo. Under sudo rp is root, but the browsers' databases, RP_HOME and the
// CA in it are those of the user in SUDO_USER, and sudo may have set HOME to root's: rp looks the
// user up in the password database, reads its settings from their home, and makes their files as
// them.
#pragma once

#include <optional>
#include <string>

#include "cmd/system_commands.hpp"
#include "supervisor/project/dotenv.hpp"
#include "supervisor/project/global_config.hpp"

namespace rp::cmd {

struct InvokingUser {
  std::string name;
  std::string home;            // their home directory (on the target system under --root)
  std::optional<Identity> as;  // set when rp is root acting for them: run their tools as this
};

// SUDO_USER's entry when rp runs as root under sudo for another user; else this process's user,
// with HOME from the environment (the password database's when unset).
InvokingUser invoking_user(const EnvMap& env);

// `env` as the user's own: under sudo, HOME is their home, so that RP_HOME (unless set) and
// config.yaml are theirs and not root's.
EnvMap user_environment(const InvokingUser& user, EnvMap env);

// The invoking user with their environment and rp's settings read from it: what the commands that
// change or check the system for a user (setup, trust, doctor) start from.
struct ForUser {
  InvokingUser user;
  EnvMap env;
  GlobalConfig config;
};
// nullopt after printing the mistakes in config.yaml or the RP_* variables.
std::optional<ForUser> load_for_invoking_user();

}  // namespace rp::cmd
