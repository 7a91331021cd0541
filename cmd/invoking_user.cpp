#include "cmd/invoking_user.hpp"

#include <pwd.h>
#include <unistd.h>

#include "cmd/load.hpp"

namespace rp::cmd {

InvokingUser invoking_user(const EnvMap& env) {
  auto sudo_user = env.find("SUDO_USER");
  if (::geteuid() == 0 && sudo_user != env.end() && !sudo_user->second.empty() &&
      sudo_user->second != "root") {
    if (const passwd* pw = ::getpwnam(sudo_user->second.c_str())) {
      return {pw->pw_name, pw->pw_dir, Identity{pw->pw_name, pw->pw_uid, pw->pw_gid}};
    }
  }
  InvokingUser user;
  const passwd* pw = ::getpwuid(::getuid());
  if (pw) user.name = pw->pw_name;
  if (auto home = env.find("HOME"); home != env.end() && !home->second.empty()) {
    user.home = home->second;
  } else if (pw) {
    user.home = pw->pw_dir;
  }
  return user;
}

EnvMap user_environment(const InvokingUser& user, EnvMap env) {
  if (user.as) env["HOME"] = user.home;
  return env;
}

std::optional<ForUser> load_for_invoking_user() {
  const auto env = current_environment();
  auto user = invoking_user(env);
  auto user_env = user_environment(user, env);
  auto config = load_global(user_env);
  if (!config) return std::nullopt;
  return ForUser{std::move(user), std::move(user_env), std::move(*config)};
}

}  // namespace rp::cmd
