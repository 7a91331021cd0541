#include "proxy/router.hpp"

#include <cctype>

namespace rp::proxy {

std::string normalise_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::string out(host);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

RouteTable::RouteTable(std::vector<std::string> tlds,
                       std::vector<std::shared_ptr<const AppStatus>> apps,
                       std::shared_ptr<const AppStatus> dashboard)
    : tlds_(std::move(tlds)), apps_(std::move(apps)), dashboard_(std::move(dashboard)) {
  for (const auto& app : apps_) {
    by_name_.emplace(app->name, app);
    for (const auto& alias : app->aliases) by_name_.emplace(alias, app);
  }
}

Route RouteTable::resolve(std::string_view host) const {
  for (const auto& tld : tlds_) {
    if (host.size() <= tld.size() + 1 || !host.ends_with(tld) ||
        host[host.size() - tld.size() - 1] != '.') {
      continue;
    }
    std::string_view rest = host.substr(0, host.size() - tld.size() - 1);
    if (rest == "rp") {
      if (dashboard_) return {Route::Kind::app, dashboard_, dashboard_->web};
      return {Route::Kind::dashboard, nullptr, {}};
    }
    // The longest app name the host ends in, so that an app's full name (a worktree's
    // BRANCH.NAME) wins over NAME's process called BRANCH.
    std::size_t dot = std::string_view::npos;
    auto it = by_name_.end();
    for (std::size_t from = 0;; from = dot + 1) {
      it = by_name_.find(rest.substr(from));
      if (it != by_name_.end()) {
        dot = from == 0 ? std::string_view::npos : from - 1;
        break;
      }
      dot = rest.find('.', from);
      if (dot == std::string_view::npos) return {};
    }
    const auto& app = it->second;
    if (dot != std::string_view::npos) {
      std::string_view sub = rest.substr(0, dot);
      auto sub_dot = sub.rfind('.');
      std::string_view process = sub_dot == std::string_view::npos ? sub : sub.substr(sub_dot + 1);
      if (app->has(process)) return {Route::Kind::app, app, std::string(process)};
    }
    return {Route::Kind::app, app, app->web};
  }
  return {};
}

}  // namespace rp::proxy
