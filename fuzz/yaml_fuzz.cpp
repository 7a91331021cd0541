// libFuzzer target over rp's YAML files: the same text read as a project's rp.yaml
// (supervisor/project/project_config.hpp) and as RP_HOME/config.yaml (global_config.hpp), then
// as the values their fields and the command line hold on their own: a duration, a formation
// (`rp up -m`), a signal name, and the RP_* overrides of config.yaml. For any text: no exception
// escapes (YAML's own errors are diagnostics), every mistake names the file and a line of it,
// and every value that was read is one the file's rules allow — valid names, counts, ports,
// addresses and paths, variable names as .env allows them, commands that are not blank, and
// durations that parse back from the way rp prints them. (rp.yaml's values are checked one by
// one, and a wrong one is left unset; config.yaml is used only when it has no mistake at all, so
// its values are checked then.) Nothing may crash, leak or read out of bounds (ASan, UBSan).
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/checks.hpp"
#include "supervisor/project/duration.hpp"
#include "supervisor/project/formation.hpp"
#include "supervisor/project/global_config.hpp"
#include "supervisor/project/procfile.hpp"
#include "supervisor/project/project_config.hpp"
#include "supervisor/project/signals.hpp"
#include "supervisor/project/text.hpp"

namespace {

using rp::fuzz::require;

// A duration rp accepted: within its range, and printed in a form that reads back the same.
void check_duration(rp::Duration d) {
  require(d.count() >= 0 && d <= rp::kLongestDuration);
  std::string why;
  const auto again = rp::parse_duration(rp::format_duration(d), why);
  require(again && *again == d);
}

bool valid_address(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool valid_signal(int signal) {
  return rp::parse_signal(rp::signal_name(signal)) == signal;
}

void check_project_config(std::string_view text) {
  const std::string path = "rp.yaml";
  rp::Diagnostics errors;
  const auto config = rp::parse_project_config(text, path, errors);
  rp::fuzz::check_diagnostics(errors, path, 0, rp::fuzz::line_count(text, true));
  if (config.name) require(rp::valid_dns_label(*config.name));
  for (const auto& alias : config.aliases) require(rp::valid_dns_label(alias));
  for (const auto& [process, count] : config.formation) {
    require(count >= 0 && count <= 100);
    require(config.formation_positions.contains(process));
  }
  for (auto d : {config.idle_timeout, config.boot_timeout}) {
    if (d) check_duration(*d);
  }
  for (const auto& [name, value] : config.env) require(rp::valid_variable_name(name));
  for (const auto& p : config.processes) {
    require(rp::valid_process_name(p.name));
    if (p.command) require(!rp::trim(*p.command).empty());
    if (p.ready_http) require(p.ready_http->starts_with('/'));
    if (p.stop_signal) require(valid_signal(*p.stop_signal));
    if (p.stop_timeout) check_duration(*p.stop_timeout);
  }
}

void check_global_config(const rp::GlobalConfig& config) {
  require(!config.tlds.empty());
  for (const auto& tld : config.tlds) require(rp::valid_dns_label(tld));
  for (auto port : {config.http_port, config.https_port}) {
    if (port) require(*port >= 0 && *port <= 65535);
  }
  require(config.dns_port >= 0 && config.dns_port <= 65535);
  for (const auto& address : config.bind) require(valid_address(address));
  require(config.port_range.first >= 1024 && config.port_range.first <= config.port_range.last &&
          config.port_range.last <= 65535);
  require(config.proxy_threads >= 0 && config.proxy_threads <= 256);
  // Unset: the daemon derives it from the open-files limit (effective_max_connections).
  if (config.max_connections) {
    require(*config.max_connections >= 1 && *config.max_connections <= 1'000'000);
  }
  check_duration(config.idle_timeout);
  for (auto d : {config.header_timeout, config.keepalive_timeout, config.connect_timeout}) {
    check_duration(d);
    require(d.count() > 0);
  }
  if (config.url_tld) {
    require(std::find(config.tlds.begin(), config.tlds.end(), *config.url_tld) !=
            config.tlds.end());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  check_project_config(text);

  const std::string path = "config.yaml";
  rp::Diagnostics errors;
  auto global = rp::parse_global_config(text, path, errors);
  rp::fuzz::check_diagnostics(errors, path, 0, rp::fuzz::line_count(text, true));
  if (errors.empty()) check_global_config(global);

  // The values on their own, as the fields and the command line give them.
  std::string why;
  if (auto d = rp::parse_duration(text, why)) {
    check_duration(*d);
  } else {
    require(!why.empty());
  }
  why.clear();
  if (auto formation = rp::parse_formation(text, why)) {
    if (formation->all) require(*formation->all >= 0 && *formation->all <= 100);
    for (const auto& [process, count] : formation->counts) {
      require(rp::valid_process_name(process) && process != "all");
      require(count >= 0 && count <= 100);
    }
  } else {
    require(!why.empty());
  }
  if (auto signal = rp::parse_signal(text)) require(valid_signal(*signal));

  const std::string value(text);
  const rp::EnvMap env{{"RP_HTTP_PORT", value},
                       {"RP_HTTPS_PORT", value},
                       {"RP_DNS_PORT", value},
                       {"RP_TLDS", value},
                       {"RP_URL_TLD", value}};
  rp::Diagnostics env_errors;
  rp::apply_env_overrides(global, env, env_errors);
  for (const auto& d : env_errors) require(d.file.starts_with("RP_") && d.line == 0);
  if (errors.empty() && env_errors.empty()) check_global_config(global);
  return 0;
}
