// The URLs rp shows (`rp up`, `rp link`, `rp ls`, `url` in `rp status --json`, RP_URL): the
// first TLD's names when the system resolver sends them to rp, else the `.localhost` ones,
// which browsers and curl resolve to loopback by themselves, so that the first URL a new user
// clicks opens. The daemon decides once, when it starts (daemon.cpp asks the system resolver);
// this is the policy, without the asking.
#pragma once

#include <string>
#include <vector>

namespace rp::cmd {

struct UrlRule {
  std::string tld;     // the names end in it: "test", or "localhost" when *.test does not resolve
  std::string suffix;  // what follows an app's name: ".test", ".localhost:7780"
  std::string hint;    // one line on how to get the first TLD's names; empty when they are shown
  std::string scheme = "http";  // "https" when the proxy serves HTTPS only
};

// Where the proxy listens: 0 for a listener that is off or could not be had.
struct Listening {
  int http = 0;
  int https = 0;
};

// Whether the choice depends on what the system resolver does with the first TLD: only when
// that TLD is not `localhost` and `localhost` is one of the TLDs, to fall back on.
bool url_depends_on_resolver(const std::vector<std::string>& tlds);

// `first_tld_resolves`: getaddrinfo of a name under tlds.front() gives this machine. When it
// does not and `localhost` is one of the TLDs, the names are `.localhost` ones; otherwise the
// first TLD's, resolving or not. The URLs are plain HTTP's on the proxy's HTTP port (80 is left
// out of them); with no HTTP listener, HTTPS's on its port (443 left out).
UrlRule url_rule(const std::vector<std::string>& tlds, bool first_tld_resolves,
                 Listening listening);

// The TLD the user chose with RP_URL_TLD: no check, and no hint.
UrlRule url_rule_for(const std::string& tld, Listening listening);

}  // namespace rp::cmd
