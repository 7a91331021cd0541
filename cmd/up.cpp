// `rp up`: the project in the current directory, in the foreground, until Ctrl-C.
#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "cmd/load.hpp"
#include "dnsproxy/dns_server.hpp"
#include "proxy/server.hpp"
#include "supervisor/console.hpp"
#include "supervisor/guardian.hpp"
#include "supervisor/supervisor.hpp"

namespace rp::cmd {
namespace {

// The DNS responder for the TLDs, on the supervisor's io_context. Null when dns_port is 0 or the
// port cannot be had: the processes still run, and the console says why in one line.
std::unique_ptr<dns::DnsServer> start_dns(boost::asio::io_context& io, const GlobalConfig& global,
                                          Console& console) {
  if (global.dns_port == 0) return nullptr;
  auto server = std::make_unique<dns::DnsServer>(io, global.tlds);
  if (auto failure = server->listen(global.bind, global.dns_port)) {
    console.event("DNS: " + failure->message());
    return nullptr;
  }
  std::string names, where;
  for (const auto& tld : global.tlds) names += (names.empty() ? "*." : ", *.") + tld;
  for (const auto& e : server->endpoints()) where += (where.empty() ? "" : ", ") + e;
  console.event(fmt::format("DNS: answering {} on {}", names, where));
  return server;
}

// The HTTP proxy for the app's names, on its own threads. Null when it is turned off or cannot
// listen: the processes still run, and the console says why once.
std::unique_ptr<proxy::Server> start_proxy(const GlobalConfig& global,
                                           std::shared_ptr<const AppStatus> app, Console& console) {
  const int port = effective_http_port(global);
  if (port == 0) return nullptr;
  proxy::ProxySettings settings{port, global.header_timeout, global.keepalive_timeout,
                                global.connect_timeout, global.max_connections};
  auto server = std::make_unique<proxy::Server>(
      proxy::ListenConfig{global.bind, port, global.proxy_threads}, settings, &console);
  std::string error;
  if (!server->listen(error)) {
    console.event(
        fmt::format("HTTP: cannot listen on port {} ({}); the processes run without "
                    "their names",
                    port, error));
    return nullptr;
  }
  if (!error.empty()) console.event(fmt::format("HTTP: {}", error));
  if (!global.http_port && port != 80) {
    console.event(fmt::format("HTTP on port {}: port 80 needs `rp setup` (once, as root)", port));
  }
  server->set_routes(std::make_shared<const proxy::RouteTable>(
      global.tlds, std::vector<std::shared_ptr<const AppStatus>>{std::move(app)}));
  server->start();
  return server;
}

}  // namespace

int up(const UpArgs& args) {
  auto started_at = std::chrono::steady_clock::now();
  EnvMap env = current_environment();
  auto loaded = load(args.project, env);
  if (!loaded.project) {
    print_errors(loaded.errors);
    fmt::print(stderr, "rp up: not starting — fix the error{} above (`rp check` lists them)\n",
               loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  // Orphans of the processes we start are re-parented to us, so a stop can find them all.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const std::string run_id = new_run_id();
  // Forked before Asio starts anything, while this process has a single thread.
  Guardian guardian = Guardian::start(run_id);

  Console console(STDOUT_FILENO, {color_wanted(STDOUT_FILENO, env), args.timestamps, 2});
  boost::asio::io_context io;
  Supervisor supervisor(io, std::move(*loaded.project), std::move(env), loaded.global,
                        {args.exit_on_error, started_at}, console, guardian, run_id);
  auto proxy = start_proxy(loaded.global, supervisor.status(), console);
  auto dns = start_dns(io, loaded.global, console);
  const int status = supervisor.run();
  if (proxy) proxy->stop();
  return status;
}

}  // namespace rp::cmd
