#include "cmd/daemon/url_rule.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rp::cmd {

UrlRule url_rule_for(const std::string& tld, Listening listening) {
  const bool https_only = listening.http == 0 && listening.https != 0;
  const int port = https_only ? listening.https : listening.http;
  std::string suffix = "." + tld;
  if (port != (https_only ? 443 : 80) && port != 0) suffix += fmt::format(":{}", port);
  return {tld, suffix, "", https_only ? "https" : "http"};
}

bool url_depends_on_resolver(const std::vector<std::string>& tlds) {
  return tlds.front() != "localhost" &&
         std::find(tlds.begin(), tlds.end(), "localhost") != tlds.end();
}

UrlRule url_rule(const std::vector<std::string>& tlds, bool first_tld_resolves,
                 Listening listening) {
  const std::string& first = tlds.front();
  if (first_tld_resolves || !url_depends_on_resolver(tlds)) return url_rule_for(first, listening);
  UrlRule rule = url_rule_for("localhost", listening);
  rule.hint = fmt::format(
      "*.{0} does not resolve here yet, so URLs are {2}://NAME{1}; for *.{0}: sudo rp setup "
      "--apply, then rp daemon stop (the daemon checks when it starts)",
      first, rule.suffix, rule.scheme);
  return rule;
}

}  // namespace rp::cmd
