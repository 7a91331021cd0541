// The daemon's control API: HTTP/1.1 + JSON on the Unix socket RP_HOME/rp.sock (mode 0600), one
// request per connection. Every `rp` command is a client of it; docs/control-api.md lists the
// paths. GETs only read; everything that changes state is a POST, PUT or DELETE. Streams
// (`rp up`'s output, `rp logs -f`) are newline-delimited JSON until the connection closes; an
// `rp up` client that closes its side, or dies, stops its app.
//
// The listener is control_socket, the bodies are api_json, the streams log_stream; this is the
// route table and its handlers, for the rp command and the dashboard alike (dashboard_gate: which
// of them a browser may reach; dashboard_files: the page). It runs on the daemon's thread,
// beside the apps it controls.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "cmd/daemon/daemon_info.hpp"

namespace boost::asio {
class io_context;
}

namespace rp {
class Apps;
}

namespace rp::proxy {
class AcceptShortage;
}

namespace rp::cmd {

class ControlApi {
 public:
  // `stop_daemon` is called once `rp daemon stop` has been answered; `shortage` hears of a
  // listener out of descriptors (ControlSocket).
  ControlApi(boost::asio::io_context& io, Apps& apps, DaemonInfo info,
             std::function<void()> stop_daemon, proxy::AcceptShortage& shortage);
  ~ControlApi();

  // Listens on `socket_path` (a stale file there is replaced), mode 0600. False, with `error`,
  // when it cannot.
  bool listen(const std::filesystem::path& socket_path, std::string& error);
  // Listens on 127.0.0.1 for the dashboard's requests, which the proxy forwards from rp.<tld>
  // (cmd/daemon/dashboard_gate.hpp: the rules they are held to): the port, or 0 with `error`.
  int listen_for_browsers(std::string& error);
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  proxy::AcceptShortage& shortage_;
};

}  // namespace rp::cmd
