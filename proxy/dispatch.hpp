// Where a request goes once its head is read, the same for HTTP/1.1 and HTTP/2: the loop check,
// the route from its Host, the redirect of `https: redirect`, the boot of a sleeping app; and rp's
// own answer (a page and its status) when the request is not an app's to answer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "proxy/error_pages.hpp"
#include "proxy/http/parser.hpp"
#include "proxy/router.hpp"
#include "proxy/upstream_pool.hpp"

namespace rp::proxy {

struct ProxyShared;

struct Destination {
  enum class Kind {
    app,       // forward to `route` (its app is up: booted if it was asleep)
    answer,    // rp answers with `status` and `page`
    redirect,  // plain HTTP to an app with `https: redirect`: a 308 to https://
    boot,      // the app is asleep or restarting: `wait_for_app` first
  };
  Kind kind = Kind::answer;
  Route route;
  int status = 0;
  Page page;
  std::int64_t restart_touched = 0;  // Kind::boot: the tmp/restart.txt time it saw
};

// `request`'s destination. `host`: its Host (present, single: checked before). `tls`: it came
// over HTTPS (the 404 lists https URLs; no redirect). `html`: the client prefers HTML pages.
// Without waiting: an app that must start first is Kind::boot, for `wait_for_app`. (Most
// requests go to an app that is up, and need no coroutine for it.)
Destination find_destination(ProxyShared& shared, const http::Head& request,
                             const std::string& host, bool tls, bool html);

// For a Kind::boot destination: starts the app (or restarts it) and waits for its web process;
// `d` then goes to the app as it is now, or is rp's answer (the boot page, a failed boot). The
// readiness probe's connection, when the boot hands it over for a request to the web process,
// goes into `pool` for that request to take.
boost::asio::awaitable<void> wait_for_app(ProxyShared& shared, UpstreamPool& pool,
                                          const http::Head& request, Destination& d, bool html);

// Whether a request may be sent again on a new connection when the app closed a kept-alive one
// without answering (RFC 9110 9.2.2).
bool idempotent(std::string_view method);

// When no connection to `instance` could be had: 504 (it did not accept in time) or 502, and what
// to say on the page.
struct ConnectFailure {
  int status;
  std::string what;
};
ConnectFailure connect_failure(const Upstream& upstream, const InstanceStatus& instance);

}  // namespace rp::proxy
