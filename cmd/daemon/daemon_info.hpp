// What the daemon says about itself in `GET /v1/status` and at the top of every `rp up`: set
// once the listeners are up, read by the control API.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace rp::cmd {

struct DaemonInfo {
  std::filesystem::path home;
  std::string version;
  int http_port = 0;   // 0 when the proxy is off or could not listen
  int https_port = 0;  // likewise
  int dns_port = 0;    // likewise
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // What a user should know about the listeners (a port that could not be had, `rp setup`):
  // shown at the top of every `rp up`.
  std::vector<std::string> notices;
  // How to get the first TLD's names when the URLs are `.localhost` ones (url_rule.hpp); also
  // one of the notices. Empty otherwise.
  std::string url_hint;
  std::vector<std::string> tlds;  // the dashboard is rp.<tld> for each
};

}  // namespace rp::cmd
