// The HTTP and HTTPS listener: one thread per core, each with its own io_context and its own
// acceptors on the same address and port (SO_REUSEPORT lets the kernel spread connections), so
// requests never cross threads and nothing on the forwarding path takes a lock. Routes arrive as
// immutable snapshots from the supervisor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/session.hpp"

namespace rp::proxy {

class AcceptShortage;

struct ListenConfig {
  std::vector<std::string> addresses{"127.0.0.1", "::1"};
  int port = 80;
  int threads = 0;  // 0: one per core
};

class Server {
 public:
  Server(ListenConfig listen, ProxySettings settings);
  ~Server();

  // Binds every address on every thread. False, with `error` saying why, when the port cannot be
  // had on any address.
  bool listen(std::string& error);
  // The same for HTTPS on `port`, its handshakes served by `tls`.
  bool listen_tls(int port, std::shared_ptr<tls::TlsContext> tls, std::string& error);
  int port() const;      // 0: no HTTP
  int tls_port() const;  // 0: no HTTPS
  void set_routes(std::shared_ptr<const RouteTable> routes);
  // Serves: the threads run, and reach the supervisor (wakes, access lines) through `supervisor`;
  // a listener short of descriptors pauses and tells `shortage`. Both must outlive stop().
  void start(SupervisorLink& supervisor, AcceptShortage& shortage);
  // A graceful end, before stop(): the listeners close, HTTP/2 connections send GOAWAY and finish
  // their open streams, for at most `limit`; then `done` is called, on a proxy thread.
  void drain(std::chrono::milliseconds limit, std::function<void()> done);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rp::proxy
