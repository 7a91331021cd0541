// The dashboard's rules. The proxy forwards `rp.<tld>` to the control API's loopback listener
// (ControlSocket::listen_for_browsers), and every request that comes that way is a browser's, to
// be held to what a web page may do: the name must be rp's own (a DNS-rebinding page arrives
// with its own name), only the page's files and a few paths of the API are there at all, and a
// change of state needs the page's own Origin and the per-daemon token only the page carries
// (a cross-site form or fetch has neither). No CORS: nothing here answers another origin. Pure
// functions, unit-tested (tests/cmd/daemon/test_dashboard_gate.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cmd/daemon/control_socket.hpp"

namespace rp::cmd {

struct GateVerdict {
  int status = 0;  // 0: the request may go on
  std::string message;
  bool ok() const { return status == 0; }
};

// Whether a browser's request may reach the API. `tlds`: rp's; `token`: the daemon's.
// - Host must be rp.<tld> (any port): else 403.
// - GET (and HEAD) of the page's files and of /v1/status, /v1/events and /v1/logs: allowed.
// - POST /v1/apps/NAME/{start,stop,restart} (a process: {"process": ...}): with an Origin that
//   is the page's own (http or https, and the request's Host), X-Rp-Token equal to the token,
//   and a JSON body: else 403.
// - OPTIONS: 405 (no preflight is ever answered); anything else: 403.
GateVerdict check_browser_request(const Request& request, const std::vector<std::string>& tlds,
                                  std::string_view token);

// Whether a browser's GET is for one of the page's own files ("/", "/dashboard.js", ...).
bool is_page_path(std::string_view path);

// `answer` (a whole HTTP response, head first) with the dashboard's headers added: a strict
// Content-Security-Policy with frame-ancestors 'none', nosniff, no referrer, no caching.
std::string for_browsers(std::string answer);

}  // namespace rp::cmd
