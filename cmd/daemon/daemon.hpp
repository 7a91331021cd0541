// The daemon: the one process per RP_HOME that owns the proxy, the DNS responder and every app's
// processes; the `rp` commands are its clients over RP_HOME/rp.sock. A Daemon is its parts,
// built in the order they depend on each other: the group record and the guardian (forked while
// the process has one thread), the event loop, the proxy and DNS listeners, the apps, and the
// control API last, once there is something to control. The proxy reaches the apps through
// SupervisorLink (Apps posts each call to the daemon's thread); the apps publish their routes to
// the proxy through publish_routes here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cmd/daemon/control_api.hpp"
#include "cmd/daemon/url_rule.hpp"
#include "dnsproxy/dns_server.hpp"
#include "proxy/accept_shortage.hpp"
#include "proxy/readiness_probe.hpp"
#include "proxy/server.hpp"
#include "supervisor/app/process_host.hpp"
#include "supervisor/apps.hpp"
#include "supervisor/process/guardian.hpp"
#include "supervisor/state/group_record.hpp"
#include "supervisor/state/registry.hpp"

namespace rp::cmd {

class Daemon {
 public:
  // Everything up to taking requests: the processes a killed daemon left are reclaimed, the
  // listeners opened (what could not be had becomes a notice), the linked apps registered.
  // `lock` is RP_HOME/rp.lock, held.
  Daemon(GlobalConfig global, std::filesystem::path home, int lock);
  // The proxy's threads stop first: they reach into the apps.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Listens on RP_HOME/rp.sock; false, with `error`, when it cannot (the daemon then ends).
  bool open_control(std::string& error);
  // Runs until `rp daemon stop` or a signal, and has every app stopped; the exit status.
  int run();

 private:
  // What the proxy routes to, each time it changes.
  void publish_routes(std::vector<std::shared_ptr<const AppStatus>> all);
  // The dashboard's listener, and rp.<tld> routed to it.
  void open_dashboard();
  // Stops every app, then the loop; once.
  void shutdown();
  // SIGINT, SIGTERM, SIGHUP stop the daemon; a second one kills what is still stopping.
  void watch_signals();

  // The URLs the daemon shows: RP_URL_TLD's, else what the system resolver says of the first
  // TLD, asked now while the DNS responder is served (the resolver may forward to it).
  UrlRule choose_urls();

  GlobalConfig global_;
  std::filesystem::path home_;
  int lock_;
  GroupRecord groups_;
  std::string run_id_prefix_;
  Guardian guardian_;
  boost::asio::io_context io_;
  std::vector<std::string> notices_;
  proxy::AcceptShortage shortage_;  // every listener's, for one line in the log when rp runs short
  CaFiles ca_files_;                // filled when the proxy opens HTTPS; empty without it
  std::unique_ptr<proxy::Server> proxy_;
  std::unique_ptr<dns::DnsServer> dns_;
  int http_port_;
  UrlRule urls_;
  std::set<int> ports_in_use_;
  SystemProcessHost processes_;
  proxy::HttpReadinessProbe readiness_;
  AppContext context_;
  Registry registry_;
  Apps apps_;
  std::vector<std::shared_ptr<const AppStatus>> routed_;  // the apps last published
  std::shared_ptr<const AppStatus> dashboard_;            // rp.<tld>: the API's browser listener
  std::unique_ptr<ControlApi> api_;
  // Caught from construction on: a signal while the daemon starts is handled once it runs (or
  // dropped with it, if it cannot open its control socket).
  boost::asio::signal_set signals_;
  bool stopping_ = false;
};

}  // namespace rp::cmd
