// Where a request goes, from its Host header alone (README.md, "The proxy"):
//   rp.<tld>                    rp's own dashboard and API (forwarded to the daemon's listener
//                               for it, as to an app; without one, rp's list of apps)
//   <branch>.<app>.<tld>        a git worktree's app: the longest app name a host ends in wins
//   <proc>.<app>.<tld>          process <proc> of <app>
//   <anything>.<app>.<tld>      the app's web process (wildcard subdomains), as is <app>.<tld>
//   aliases                     like the app's name
//   anything else               404 with the list of known apps
// Pure: the table is an immutable snapshot the proxy threads share.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/app/app_status.hpp"

namespace rp::proxy {

// The Host header as a name: port stripped, lower-cased, trailing dot removed.
std::string normalise_host(std::string_view host);

struct Route {
  enum class Kind { not_found, dashboard, app };
  Kind kind = Kind::not_found;
  std::shared_ptr<const AppStatus> app;
  std::string process;  // which process of the app
};

class RouteTable {
 public:
  // `dashboard`: where rp.<tld> goes, an app that is always up (null: rp's list of apps).
  RouteTable(std::vector<std::string> tlds, std::vector<std::shared_ptr<const AppStatus>> apps,
             std::shared_ptr<const AppStatus> dashboard = nullptr);

  Route resolve(std::string_view normalised_host) const;

  const std::vector<std::string>& tlds() const { return tlds_; }
  const std::vector<std::shared_ptr<const AppStatus>>& apps() const { return apps_; }

 private:
  std::vector<std::string> tlds_;
  std::vector<std::shared_ptr<const AppStatus>> apps_;
  std::shared_ptr<const AppStatus> dashboard_;
  std::map<std::string, std::shared_ptr<const AppStatus>, std::less<>> by_name_;
};

}  // namespace rp::proxy
