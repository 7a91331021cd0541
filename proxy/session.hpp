// One client connection, from its first byte to its close: read a request head, route it, forward
// it to an app instance with its body streaming behind it, stream the response back, and go on
// with the next request on the same connection (keep-alive, pipelining: one at a time, so the
// responses keep their order). An upgrade becomes a tunnel. Timeouts are part of the flow: a
// head that arrives too slowly gets 408, an idle keep-alive connection is closed. Over HTTPS the
// same session runs after its TLS handshake.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_set>

#include "proxy/access_log.hpp"
#include "proxy/descriptor_reserve.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/router.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/workspace.hpp"

namespace rp::tls {
class TlsContext;
class TlsStream;
}  // namespace rp::tls

namespace rp::proxy {

struct ProxySettings {
  int display_port = 80;       // the HTTP port as users type it, for URLs on pages
  int https_display_port = 0;  // the HTTPS port, where redirects go; 0: no HTTPS
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds keepalive_timeout{75'000};
  std::chrono::milliseconds connect_timeout{5'000};
  int max_connections = 4096;
};

// What every session of every thread shares: read-only settings, the current routes, counters.
struct ProxyShared {
  ProxySettings settings;
  http::Pseudonym pseudonym;
  SupervisorLink* supervisor = nullptr;  // wakes apps, takes access lines; set by Server::start
  tls::TlsContext* tls = nullptr;        // certificates for HTTPS; set by Server::listen_tls
  std::atomic<std::shared_ptr<const RouteTable>> routes;
  std::atomic<int> connections{0};
};

// A connection that can end gracefully when the proxy stops: an HTTP/2 connection sends GOAWAY
// and lets its open streams finish.
class Drainable {
 public:
  virtual void drain() = 0;

 protected:
  ~Drainable() = default;
};

// The state of one proxy thread that sessions on it share without locks.
struct ProxyThread {
  ProxyShared& shared;
  UpstreamPool pool;
  WorkspacePool workspaces;  // what HTTP/1.1 connections use while a request is in flight
  AccessLog access_log;
  unsigned round_robin = 0;
  std::unordered_set<Drainable*> drainable;         // registered for their lifetime
  DescriptorReserve descriptors;                    // counts this thread's client connections
  std::unordered_set<tls::TlsStream*> tls_streams;  // for tidy_up (proxy/server.cpp)
};

// Runs a session on `socket` until the connection closes. `client` is where it came from, as the
// accept gave it (its `proto` is the session's to set).
void start_session(ProxyThread& thread, boost::asio::ip::tcp::socket socket,
                   http::ClientInfo client);
// The same over TLS: the handshake first (`thread.shared.tls` set).
void start_tls_session(ProxyThread& thread, boost::asio::ip::tcp::socket socket,
                       http::ClientInfo client);

// Answers a connection over the limit with 503 and closes it.
void refuse_connection(boost::asio::ip::tcp::socket socket);

}  // namespace rp::proxy
