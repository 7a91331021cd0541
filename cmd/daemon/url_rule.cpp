#include "cmd/daemon/url_rule.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rp::cmd {

UrlRule url_rule_for(const std::string& tld, int http_port) {
  std::string suffix = "." + tld;
  if (http_port != 80 && http_port != 0) suffix += fmt::format(":{}", http_port);
  return {tld, suffix, ""};
}

bool url_depends_on_resolver(const std::vector<std::string>& tlds) {
  return tlds.front() != "localhost" &&
         std::find(tlds.begin(), tlds.end(), "localhost") != tlds.end();
}

UrlRule url_rule(const std::vector<std::string>& tlds, bool first_tld_resolves, int http_port) {
  const std::string& first = tlds.front();
  if (first_tld_resolves || !url_depends_on_resolver(tlds)) return url_rule_for(first, http_port);
  UrlRule rule = url_rule_for("localhost", http_port);
  rule.hint = fmt::format(
      "*.{0} does not resolve here yet, so URLs are http://NAME{1}; for *.{0}: sudo rp setup "
      "--apply, then rp daemon stop (the daemon checks when it starts)",
      first, rule.suffix);
  return rule;
}

}  // namespace rp::cmd
