#include "proxy/dispatch.hpp"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>

#include "proxy/boot_page.hpp"
#include "proxy/boot_wait.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/session.hpp"
#include "supervisor/app/readiness.hpp"

namespace rp::proxy {

Destination find_destination(ProxyShared& shared, const http::Head& request,
                             const std::string& host, bool tls, bool html) {
  Destination d;
  if (http::is_loop(request, shared.pseudonym)) {
    d.status = 508;
    d.page =
        plain_error_page(508, "this request came back to rp: a route points at rp itself", html);
    return d;
  }
  const auto routes = shared.routes.load();
  const std::string name = normalise_host(host);
  d.route = routes->resolve(name);
  if (d.route.kind != Route::Kind::app) {
    d.status = d.route.kind == Route::Kind::dashboard ? 200 : 404;
    d.page = tls ? not_found_page(*routes, name, shared.settings.https_display_port, html, "https")
                 : not_found_page(*routes, name, shared.settings.display_port, html);
    return d;
  }
  if (!tls && d.route.app->https_redirect && shared.settings.https_display_port != 0) {
    d.kind = Destination::Kind::redirect;
    return d;
  }
  const std::int64_t restart_touched = d.route.app->restart_touched();
  AppActivity* activity = d.route.app->activity.get();
  const bool ready =
      !activity || activity->phase.load(std::memory_order_acquire) == AppPhase::ready;
  if (activity && (restart_touched != 0 || !ready)) {
    const AppStatus& app = *d.route.app;
    if (!ready && app.boot_page && is_boot_poll(request)) {
      // The boot page asking how it goes: rp answers until the app is ready.
      d.status = 200;
      d.page = boot_progress(app);
      return d;
    }
    d.kind = Destination::Kind::boot;
    d.restart_touched = restart_touched;
    return d;
  }
  d.kind = Destination::Kind::app;
  return d;
}

boost::asio::awaitable<void> wait_for_app(ProxyShared& shared, UpstreamPool& pool,
                                          const http::Head& request, Destination& d, bool html) {
  // A stopped app starts now (an app whose tmp/restart.txt was touched restarts); the request
  // waits for its web process, as do the others that arrive meanwhile (one boot for all). A
  // browser's navigation waits a second, then gets the boot page.
  const std::shared_ptr<const AppStatus> app = d.route.app;
  d.kind = Destination::Kind::answer;
  std::optional<BootResult> waited;
  if (app->boot_page && is_navigation(request, html)) {
    waited = co_await wait_for_boot_within(*shared.supervisor, app->name, d.restart_touched,
                                           kBootPageAfter);
    if (!waited) {
      d.status = 503;
      d.page = boot_page(*app);
      co_return;
    }
  } else {
    waited = co_await wait_for_boot(*shared.supervisor, app->name, d.restart_touched);
  }
  const BootResult boot = std::move(*waited);
  if (!boot.ok() || !boot.app) {
    d.status = boot.ok() ? 502 : status_of(boot.outcome);
    const std::string what =
        boot.ok() ? "The app started, but rp was not told where it listens." : boot.what;
    d.page = upstream_error_page(d.status, *app, d.route.process, what, html, boot.log);
    co_return;
  }
  // Booting may have moved a port (one was taken meanwhile): forward to the app as it is now,
  // not as it was routed.
  d.route.app = boot.app;
  d.kind = Destination::Kind::app;
  if (boot.connection && boot.connection_to && d.route.process == boot.app->web) {
    const auto executor = co_await boost::asio::this_coro::executor;
    const int family = boot.connection->family();
    pool.adopt(boot.connection_to, boot.connection->take(), family, executor);
  }
}

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

ConnectFailure connect_failure(const Upstream& upstream, const InstanceStatus& instance) {
  if (upstream.result == Upstream::Result::timed_out) {
    return {504, fmt::format("{} did not accept a connection on port {} in time.", instance.label,
                             instance.port)};
  }
  return {502, fmt::format("{} is not listening on port {} ({}).", instance.label, instance.port,
                           upstream.error)};
}

}  // namespace rp::proxy
