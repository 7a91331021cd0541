// rp's global settings: RP_HOME/config.yaml, then the RP_* environment overrides that scripts
// and tests use to give every run its own ports (README.md, "rp's own settings").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/project/diagnostic.hpp"
#include "supervisor/project/dotenv.hpp"
#include "supervisor/project/duration.hpp"

namespace rp {

struct PortRange {
  int first = 20000;  // below Linux's ephemeral range, so outgoing connections never take them
  int last = 29999;
};

struct GlobalConfig {
  std::vector<std::string> tlds{"test", "localhost"};
  // RP_URL_TLD: the TLD of the URLs rp shows, chosen by the user; unset, the daemon asks the
  // system resolver whether the first TLD reaches rp (cmd/daemon/url_rule.hpp).
  std::optional<std::string> url_tld;
  std::optional<int> http_port;   // unset: 80 where rp may bind it, else 7780; 0 disables
  std::optional<int> https_port;  // unset: 443 where rp may bind it, else 7743; 0 disables
  int dns_port = 5300;            // 0 disables
  std::vector<std::string> bind{"127.0.0.1", "::1"};
  Duration idle_timeout = std::chrono::minutes(15);
  PortRange port_range;
  // The proxy.
  int proxy_threads = 0;                                  // 0: one per core
  Duration header_timeout = std::chrono::seconds(30);     // a request head must arrive within
  Duration keepalive_timeout = std::chrono::seconds(75);  // an idle client connection is closed
  Duration connect_timeout = std::chrono::seconds(5);     // to an app's port, then 504
  std::optional<int> max_connections;  // more get 503; unset: effective_max_connections
};

// RP_HOME, else ${XDG_CONFIG_HOME:-~/.config}/rp.
std::filesystem::path rp_home(const EnvMap& env);

GlobalConfig parse_global_config(std::string_view text, const std::string& path,
                                 Diagnostics& errors);

// RP_HTTP_PORT, RP_HTTPS_PORT, RP_DNS_PORT and RP_TLDS, over what the file said; and RP_URL_TLD.
void apply_env_overrides(GlobalConfig& config, const EnvMap& env, Diagnostics& errors);

// config.yaml from RP_HOME (absent is fine) with the overrides applied.
GlobalConfig load_global_config(const EnvMap& env, Diagnostics& errors);

// The HTTP port URLs should name: the configured one, else 80 when this process may bind ports
// below 1024 (supervisor/app/ports.hpp, may_bind_privileged_port), else 7780.
int effective_http_port(const GlobalConfig& config, bool may_bind_privileged);
// The same for HTTPS: the configured one, else 443, else 7743.
int effective_https_port(const GlobalConfig& config, bool may_bind_privileged);

// The client connections the proxy holds at most: the configured number, else as many as the
// limit on open files (RLIMIT_NOFILE, which rp raises to its hard limit) allows. Each proxied
// request holds two descriptors (the client's and the app's), and the daemon keeps a reserve for
// its own files, its listeners and the apps' pipes and log files: (limit - 128) / 2, at least 16.
int effective_max_connections(const GlobalConfig& config, std::uint64_t open_files_limit);

}  // namespace rp
