#include "cmd/daemon/control_socket.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "cmd/daemon/api_json.hpp"
#include "cmd/daemon/dashboard_gate.hpp"
#include "cmd/socket_path.hpp"
#include "proxy/accept_shortage.hpp"
#include "proxy/nothrow.hpp"
#include "proxy/socket_deadline.hpp"

namespace asio = boost::asio;

namespace rp::cmd {
namespace {

using proxy::nothrow;

// How long a client has to send its whole request.
constexpr auto kRequestTimeout = std::chrono::seconds(30);

}  // namespace

struct ControlSocket::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, Handler handler_, proxy::AcceptShortage& shortage_)
      : io(io_), handler(std::move(handler_)), shortage(shortage_), acceptor(io_) {}

  asio::io_context& io;
  Handler handler;
  proxy::AcceptShortage& shortage;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor;
  bool browser = false;  // the dashboard's listener

  // An answer before the handler's: a browser's carries the dashboard's headers too.
  asio::awaitable<void> refuse(ControlConnection& socket, int status, std::string message) {
    std::string answer = error_answer(status, message);
    if (browser) answer = for_browsers(std::move(answer));
    co_await write_answer(socket, std::move(answer));
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(nothrow);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of descriptors or memory: pause rather than spin (proxy/accept_shortage.hpp).
        const auto wait = shortage.failed(ec);
        if (wait.count() > 0) {
          asio::steady_timer pause(io, wait);
          co_await pause.async_wait(nothrow);
        }
        continue;
      }
      shortage.accepted();
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  // Reads one request, head and body, then hands it on. GCC 12 cannot keep a string literal
  // inside a co_await expression: answers are built in statements of their own.
  asio::awaitable<void> serve(ControlConnection socket) {
    auto self = shared_from_this();
    RequestReader reader(browser);
    std::array<char, 8192> buffer;
    // A client that connects and never finishes its request must not hold a connection forever.
    proxy::SocketDeadline limit(socket, std::chrono::steady_clock::now() + kRequestTimeout);
    std::optional<std::variant<Request, RequestRefusal>> read;
    while (!read) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), nothrow);
      if (ec) co_return;
      read = reader.feed(std::string_view(buffer.data(), n));
    }
    if (auto* refusal = std::get_if<RequestRefusal>(&*read)) {
      co_await refuse(socket, refusal->status, std::move(refusal->message));
      co_return;
    }
    limit.cancel();
    co_await handler(std::move(std::get<Request>(*read)), std::move(socket));
  }
};

ControlSocket::ControlSocket(asio::io_context& io, Handler handler, proxy::AcceptShortage& shortage)
    : impl_(std::make_shared<Impl>(io, std::move(handler), shortage)) {}

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
  const asio::local::stream_protocol::endpoint endpoint(reachable);
  acceptor.open(asio::generic::stream_protocol(endpoint.protocol()), ec);
  if (!ec) acceptor.bind(asio::generic::stream_protocol::endpoint(endpoint), ec);
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

int ControlSocket::listen_for_browsers(std::string& error) {
  boost::system::error_code ec;
  auto& acceptor = impl_->acceptor;
  const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  acceptor.open(asio::generic::stream_protocol(endpoint.protocol()), ec);
  if (!ec) acceptor.bind(asio::generic::stream_protocol::endpoint(endpoint), ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  asio::generic::stream_protocol::endpoint bound;
  if (!ec) bound = acceptor.local_endpoint(ec);
  if (ec) {
    error = fmt::format("cannot listen on 127.0.0.1 for the dashboard: {}", ec.message());
    return 0;
  }
  impl_->browser = true;
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  return ntohs(reinterpret_cast<const sockaddr_in*>(bound.data())->sin_port);
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
