// The control API's listeners: the Unix socket RP_HOME/rp.sock (mode 0600 from the moment it
// exists) for the CLI, and a loopback TCP port for the dashboard (the proxy forwards rp.<tld>
// there; its requests are marked `browser`, and the API holds them to the dashboard's rules,
// cmd/daemon/dashboard_gate.hpp). One request per connection. It reads a request within a time
// limit (RequestReader, control_request.hpp, makes it a Request value within a size limit) and
// hands it, with the connection, to the API's handler; what the request asks is none of its
// business.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "cmd/daemon/control_request.hpp"

namespace boost::asio {
class io_context;
}

namespace rp::proxy {
class AcceptShortage;
}

namespace rp::cmd {

// A Unix or a TCP connection.
using ControlConnection = boost::asio::generic::stream_protocol::socket;

class ControlSocket {
 public:
  // Answers a request on its connection: all of it, stream or single answer.
  using Handler = std::function<boost::asio::awaitable<void>(Request, ControlConnection)>;

  // A listener short of descriptors pauses and tells `shortage`, which must outlive it.
  ControlSocket(boost::asio::io_context& io, Handler handler, proxy::AcceptShortage& shortage);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Listens on `path` (a stale file there is replaced), mode 0600. False, with `error`, when it
  // cannot.
  bool listen(const std::filesystem::path& path, std::string& error);
  // Listens on 127.0.0.1, on a port the system picks, for browsers' requests: the port, or 0
  // with `error`.
  int listen_for_browsers(std::string& error);
  // Takes no more connections; those under way go on.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Writes a whole answer and ends the sending side: the client reads until then.
boost::asio::awaitable<void> write_answer(ControlConnection& socket, std::string text);

}  // namespace rp::cmd
