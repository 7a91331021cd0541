// libFuzzer target over the .env reader (supervisor/project/dotenv.hpp), as load_project calls
// it: the input is split at its first NUL into `.env` and `.env.local`, read one after the other
// into one map over an inherited environment, so expansion sees both earlier lines and the
// environment. For any text: every mistake names its file and a line of it, every variable set
// has a valid name, and reading the same text again
// gives the same result. Nothing may crash, leak or read out of bounds (ASan, UBSan).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/checks.hpp"
#include "supervisor/project/dotenv.hpp"

namespace {

using rp::fuzz::require;

bool valid_key(const std::string& key) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (key.empty() || !letter(key[0])) return false;
  for (char c : key) {
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '.') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view env = input.substr(0, nul);
  const std::string_view local = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  static const rp::EnvMap inherited{
      {"HOME", "/home/me"}, {"PATH", "/usr/bin:/bin"}, {"PORT", "5000"}, {"EMPTY", ""}};
  rp::EnvMap vars;
  rp::Diagnostics env_errors, local_errors;
  rp::parse_dotenv(env, ".env", vars, inherited, env_errors);
  const rp::EnvMap after_env = vars;
  rp::parse_dotenv(local, ".env.local", vars, inherited, local_errors);

  rp::fuzz::check_diagnostics(env_errors, ".env", 1, rp::fuzz::line_count(env));
  rp::fuzz::check_diagnostics(local_errors, ".env.local", 1, rp::fuzz::line_count(local));
  for (const auto& [key, value] : vars) {
    require(valid_key(key));
    require(value.find('\0') == std::string::npos);  // exec would cut it there
  }

  // The same text over the same variables reads the same.
  rp::EnvMap again;
  rp::Diagnostics again_errors;
  rp::parse_dotenv(env, ".env", again, inherited, again_errors);
  require(again == after_env && again_errors.size() == env_errors.size());
  return 0;
}
