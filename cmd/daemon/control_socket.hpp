// The control API's listener: the Unix socket RP_HOME/rp.sock (mode 0600 from the moment it
// exists), one request per connection. It reads a request, head and body, with the proxy's
// llhttp Parser, within a time limit and a size limit, turns it into a Request value and hands
// it, with the connection, to the API's handler; what the request asks is none of its business.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace rp::cmd {

using ControlConnection = boost::asio::local::stream_protocol::socket;

// A request, as the handlers see it: made fresh for each connection.
struct Request {
  std::string method;
  std::string path;                          // without the query
  std::map<std::string, std::string> query;  // ?a=b&c=d, undecoded
  boost::json::object body;                  // empty when none was sent
};

class ControlSocket {
 public:
  // Answers a request on its connection: all of it, stream or single answer.
  using Handler = std::function<boost::asio::awaitable<void>(Request, ControlConnection)>;

  ControlSocket(boost::asio::io_context& io, Handler handler);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Listens on `path` (a stale file there is replaced), mode 0600. False, with `error`, when it
  // cannot.
  bool listen(const std::filesystem::path& path, std::string& error);
  // Takes no more connections; those under way go on.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Writes a whole answer and ends the sending side: the client reads until then.
boost::asio::awaitable<void> write_answer(ControlConnection& socket, std::string text);

}  // namespace rp::cmd
