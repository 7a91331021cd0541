#include "cmd/daemon/control_socket.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include "cmd/daemon/api_json.hpp"
#include "cmd/socket_path.hpp"
#include "proxy/http/parser.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/socket_deadline.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace rp::cmd {
namespace {

using proxy::nothrow;

// A request body is a few hundred bytes of JSON (an environment, at most): more is a mistake.
constexpr std::size_t kMaxBody = 1 << 20;
// How long a client has to send its whole request.
constexpr auto kRequestTimeout = std::chrono::seconds(30);

// The request a parsed message makes; nullopt and `error` when its body is not a JSON object.
std::optional<Request> request_of(const http::Head& head, const std::string& body,
                                  std::string& error) {
  Request request;
  request.method = head.method;
  auto q = head.target.find('?');
  request.path = head.target.substr(0, q);
  if (q != std::string::npos) {
    request.query = parse_query(std::string_view(head.target).substr(q + 1));
  }
  if (!body.empty()) {
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
      error = "the body must be a JSON object";
      return std::nullopt;
    }
    request.body = std::move(parsed.as_object());
  }
  return request;
}

}  // namespace

struct ControlSocket::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, Handler handler_)
      : io(io_), handler(std::move(handler_)), acceptor(io_) {}

  asio::io_context& io;
  Handler handler;
  asio::local::stream_protocol::acceptor acceptor;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(nothrow);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  // Reads one request, head and body, then hands it on. GCC 12 cannot keep a string literal
  // inside a co_await expression: answers are built in statements of their own.
  asio::awaitable<void> serve(ControlConnection socket) {
    auto self = shared_from_this();
    http::Parser parser(http::Parser::Kind::request);
    std::string body;
    std::array<char, 8192> buffer;
    // A client that connects and never finishes its request must not hold a connection forever.
    proxy::SocketDeadline limit(socket, std::chrono::steady_clock::now() + kRequestTimeout);
    bool done = false;
    while (!done) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
      if (ec) co_return;
      std::string_view data(buffer.data(), n);
      for (;;) {
        auto step = parser.feed(data);
        data.remove_prefix(step.consumed);
        for (auto part : step.body) body += part;
        if (body.size() > kMaxBody) {
          std::string answer = error_answer(413, "the request body is too large");
          co_await write_answer(socket, std::move(answer));
          co_return;
        }
        if (step.status == http::Parser::Status::error) {
          std::string answer = error_answer(400, "malformed request: " + parser.error());
          co_await write_answer(socket, std::move(answer));
          co_return;
        }
        if (step.status == http::Parser::Status::message_done ||
            step.status == http::Parser::Status::upgrade) {
          done = true;
          break;
        }
        // After the head the parser goes on with the body, or ends a message that has none.
        if (step.status != http::Parser::Status::head_done) break;
      }
    }
    limit.cancel();
    std::string error;
    auto request = request_of(parser.head(), body, error);
    if (!request) {
      std::string answer = error_answer(400, error);
      co_await write_answer(socket, std::move(answer));
      co_return;
    }
    co_await handler(std::move(*request), std::move(socket));
  }
};

ControlSocket::ControlSocket(asio::io_context& io, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(handler))) {}

ControlSocket::~ControlSocket() {
  close();
}

bool ControlSocket::listen(const std::filesystem::path& path, std::string& error) {
  boost::system::error_code ec;
  std::error_code fs_error;
  std::filesystem::remove(path, fs_error);
  int holder = -1;
  const std::string reachable = reachable_socket_path(path, holder);
  auto& acceptor = impl_->acceptor;
  // Created 0600 from the start: no moment where another user could connect.
  const mode_t old = ::umask(0177);
  acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(reachable), ec);
  ::umask(old);
  if (holder >= 0) ::close(holder);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = fmt::format("cannot listen on {}: {}", path.string(), ec.message());
    return false;
  }
  ::chmod(path.c_str(), 0600);
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  return true;
}

void ControlSocket::close() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

asio::awaitable<void> write_answer(ControlConnection& socket, std::string text) {
  co_await asio::async_write(socket, asio::buffer(text), nothrow);
  boost::system::error_code ignored;
  socket.shutdown(ControlConnection::shutdown_send, ignored);
}

}  // namespace rp::cmd
