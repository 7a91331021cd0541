// The pages rp answers with itself: an unknown name (with the list of known apps), an app that
// is down or slow (with its state and the tail of its output, so the reason is on screen), and
// the protocol errors. HTML for browsers, plain text for everything else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/parser.hpp"
#include "proxy/router.hpp"

namespace rp::proxy {

struct Page {
  std::string content_type;
  std::string body;
  std::vector<http::Header> headers;  // more than Content-Type and Cache-Control: no-store
};

// The status that answers a boot that did not end ready: 502 when it failed, 504 when it took
// longer than boot_timeout.
int status_of(BootOutcome outcome);

// Whether `accept` (an Accept header) prefers HTML, as a browser's does: text/html is acceptable
// and no other type is more so. An API client that takes HTML only as a fallback
// (`application/json, text/html;q=0.1`) gets text, and waits where a browser sees a page.
bool wants_html(std::string_view accept);

// `s` as HTML text: & < > " escaped.
std::string escape_html(std::string_view s);

// `host`, `port` and `scheme`: how the request came, so that the listed URLs are alike (names
// under the TLD it came by, which resolves for that client).
Page not_found_page(const RouteTable& routes, std::string_view host, int port, bool html,
                    std::string_view scheme = "http");

// 502 and 504: what went wrong talking to `process` of `app`, with the last output of its
// instances after `boot_log` (lines of another process that explain it: a task that failed).
Page upstream_error_page(int status, const AppStatus& app, std::string_view process,
                         std::string_view what, bool html,
                         const std::vector<std::string>& boot_log = {});

// 400, 408, 431, 503, 508: a sentence is all there is to say.
Page plain_error_page(int status, std::string_view what, bool html);

}  // namespace rp::proxy
