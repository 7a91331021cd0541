#include "dnsproxy/dns_server.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "dnsproxy/responder.hpp"

namespace rp::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

constexpr auto kTcpIdle = std::chrono::seconds(10);
constexpr std::size_t kMaxTcpConnections = 64;
// Datagrams read with one recvmmsg, and batches answered before other work on the io_context
// gets its go.
constexpr std::size_t kUdpBatch = 32;
constexpr int kUdpTurns = 4;
// A UDP query is at most what a client may send (EDNS payloads top out at 4096 in practice).
constexpr std::size_t kUdpQueryMax = 4096;
constexpr std::size_t kUdpAnswerMax = kUdpPayloadSize;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
// Room for any answer rp gives (a few hundred bytes); a larger one would be cut with TC set.
constexpr std::size_t kAnswerBuffer = 4096;

// What every listener and connection shares; connections may outlive the DnsServer until the
// io_context lets go of their handlers, so they hold it by shared_ptr.
struct Shared {
  Shared(const std::vector<std::string>& tlds, AcceptWatch watch_)
      : responder(tlds), watch(std::move(watch_)) {}
  Responder responder;
  AcceptWatch watch;
  std::size_t tcp_connections = 0;
};

std::string endpoint_text(const asio::ip::address& a, int port) {
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), port)
                   : fmt::format("{}:{}", a.to_string(), port);
}

class UdpListener : public std::enable_shared_from_this<UdpListener> {
 public:
  UdpListener(udp::socket socket, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)), shared_(std::move(shared)) {}

  void start() { wait(); }

  void close() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  void wait() {
    socket_.async_wait(udp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      if (ec == asio::error::operation_aborted || !self->socket_.is_open()) return;
      self->drain();
    });
  }

  // Answers what is queued without going back to the reactor for each datagram: up to
  // kUdpBatch datagrams come in with one recvmmsg and their answers leave with one sendmmsg.
  // A send that would block drops those answers: the clients ask again, as they would over a
  // lossy network. A datagram longer than a slot (no DNS query is) is dropped.
  void drain() {
    const int fd = socket_.native_handle();
    for (int turn = 0; turn < kUdpTurns; ++turn) {
      for (std::size_t i = 0; i < kUdpBatch; ++i) {
        in_iov_[i] = {slots_[i].in.data(), slots_[i].in.size()};
        in_msgs_[i] = {};
        in_msgs_[i].msg_hdr.msg_name = &slots_[i].peer;
        in_msgs_[i].msg_hdr.msg_namelen = sizeof slots_[i].peer;
        in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
        in_msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      int n = ::recvmmsg(fd, in_msgs_.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return wait();  // would block, or an error that is the sender's, not ours
      unsigned answers = 0;
      for (int i = 0; i < n; ++i) {
        auto& slot = slots_[static_cast<std::size_t>(i)];
        const auto& hdr = in_msgs_[static_cast<std::size_t>(i)].msg_hdr;
        if (hdr.msg_flags & MSG_TRUNC) continue;
        std::size_t size = shared_->responder.answer(
            {slot.in.data(), in_msgs_[static_cast<std::size_t>(i)].msg_len}, Transport::udp,
            slot.out);
        if (size == 0) continue;
        out_iov_[answers] = {slot.out.data(), size};
        out_msgs_[answers] = {};
        out_msgs_[answers].msg_hdr.msg_name = &slot.peer;
        out_msgs_[answers].msg_hdr.msg_namelen = hdr.msg_namelen;
        out_msgs_[answers].msg_hdr.msg_iov = &out_iov_[answers];
        out_msgs_[answers].msg_hdr.msg_iovlen = 1;
        ++answers;
      }
      for (unsigned sent = 0; sent < answers;) {
        int m = ::sendmmsg(fd, out_msgs_.data() + sent, answers - sent, MSG_DONTWAIT);
        if (m <= 0) break;
        sent += static_cast<unsigned>(m);
      }
      if (static_cast<std::size_t>(n) < kUdpBatch) return wait();
    }
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->socket_.is_open()) self->drain();
    });
  }

  struct Slot {
    std::array<std::uint8_t, kUdpQueryMax> in;
    std::array<std::uint8_t, kUdpAnswerMax> out;
    sockaddr_storage peer;
  };

  udp::socket socket_;
  std::shared_ptr<Shared> shared_;
  std::vector<Slot> slots_ = std::vector<Slot>(kUdpBatch);
  std::array<iovec, kUdpBatch> in_iov_, out_iov_;
  std::array<mmsghdr, kUdpBatch> in_msgs_, out_msgs_;
};

// One TCP connection: a two-byte length, the message, the answer; again, until the client closes
// it, sends something that is not DNS, or is idle for kTcpIdle.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(tcp::socket socket, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)), idle_(socket_.get_executor()), shared_(std::move(shared)) {
    ++shared_->tcp_connections;
  }
  ~TcpSession() { --shared_->tcp_connections; }

  void start() { read_length(); }

 private:
  void read_length() {
    arm_idle();
    asio::async_read(
        socket_, asio::buffer(length_), [self = shared_from_this()](error_code ec, std::size_t) {
          if (ec) return self->close();
          std::size_t n = static_cast<std::size_t>(self->length_[0] << 8 | self->length_[1]);
          if (n == 0) return self->close();
          self->read_message(n);
        });
  }

  void read_message(std::size_t n) {
    in_.resize(n);
    asio::async_read(socket_, asio::buffer(in_),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->respond();
                     });
  }

  void respond() {
    std::size_t size = shared_->responder.answer(in_, Transport::tcp, std::span(out_).subspan(2));
    if (size == 0) return read_length();  // a message that gets no answer (a response, say)
    out_[0] = static_cast<std::uint8_t>(size >> 8);
    out_[1] = static_cast<std::uint8_t>(size);
    asio::async_write(socket_, asio::buffer(out_.data(), size + 2),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->read_length();
                      });
  }

  // The clock restarts at each message: a whole message must arrive within kTcpIdle.
  void arm_idle() {
    idle_.expires_after(kTcpIdle);
    idle_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->close();
    });
  }

  void close() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    idle_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer idle_;
  std::shared_ptr<Shared> shared_;
  std::array<std::uint8_t, 2> length_{};
  std::vector<std::uint8_t> in_;
  std::array<std::uint8_t, 2 + kAnswerBuffer> out_{};
};

class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  TcpListener(tcp::acceptor acceptor, std::shared_ptr<Shared> shared)
      : acceptor_(std::move(acceptor)),
        retry_(acceptor_.get_executor()),
        shared_(std::move(shared)) {}

  void start() { accept(); }

  void close() {
    error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

 private:
  void accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (ec) {
        if (self->shared_->watch.failed) self->shared_->watch.failed(ec);
        return self->accept_later();  // out of descriptors, say: do not spin
      }
      if (self->shared_->watch.accepted) self->shared_->watch.accepted();
      if (self->shared_->tcp_connections >= kMaxTcpConnections) {
        socket.close(ec);  // full: the client falls back to another server or tries later
      } else {
        std::make_shared<TcpSession>(std::move(socket), self->shared_)->start();
      }
      self->accept();
    });
  }

  void accept_later() {
    retry_.expires_after(kAcceptRetry);
    retry_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->accept();
    });
  }

  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

std::string ListenFailure::message() const {
  std::string where = address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, port)
                                                             : fmt::format("{}:{}", address, port);
  std::string reason = std::strerror(error), advice = "rp doctor tells more";
  if (error == EADDRINUSE) {
    reason = "address in use";
    advice = "another rp or resolver has it; rp doctor tells more";
  } else if (error == EACCES) {
    reason = "permission denied";
    advice = "ports below 1024 need root; use dns_port 5300 (the default)";
  }
  return fmt::format("cannot listen on {} ({}) — {}", where, reason, advice);
}

struct DnsServer::Impl {
  Impl(asio::io_context& io_, const std::vector<std::string>& tlds, AcceptWatch watch)
      : io(io_), shared(std::make_shared<Shared>(tlds, std::move(watch))) {}

  ~Impl() { close(); }

  void close() {
    for (auto& l : udp) l->close();
    for (auto& l : tcp) l->close();
    udp.clear();
    tcp.clear();
    endpoints.clear();
  }

  // Opens both sockets of one address; false and `ec` set on failure.
  bool open(const asio::ip::address& address, int port, error_code& ec) {
    const auto p = static_cast<unsigned short>(port);
    udp::socket u(io);
    u.open(address.is_v6() ? udp::v6() : udp::v4(), ec);
    if (ec) return false;
    if (address.is_v6()) u.set_option(asio::ip::v6_only(true), ec);
    // No SO_REUSEADDR on UDP: with it, a second rp could bind the same port and steal queries.
    if (!ec) u.bind({address, p}, ec);
    if (!ec) u.non_blocking(true, ec);
    if (ec) return false;

    tcp::acceptor t(io);
    t.open(address.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec && address.is_v6()) t.set_option(asio::ip::v6_only(true), ec);
    // On TCP it only lets a restarted rp bind past old connections in TIME_WAIT.
    if (!ec) t.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) t.bind({address, p}, ec);
    if (!ec) t.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return false;
    udp.push_back(std::make_shared<UdpListener>(std::move(u), shared));
    tcp.push_back(std::make_shared<TcpListener>(std::move(t), shared));
    endpoints.push_back(endpoint_text(address, port));
    return true;
  }

  asio::io_context& io;
  std::shared_ptr<Shared> shared;
  std::vector<std::shared_ptr<UdpListener>> udp;
  std::vector<std::shared_ptr<TcpListener>> tcp;
  std::vector<std::string> endpoints;
};

DnsServer::DnsServer(asio::io_context& io, const std::vector<std::string>& tlds, AcceptWatch watch)
    : impl_(std::make_unique<Impl>(io, tlds, std::move(watch))) {}

DnsServer::~DnsServer() = default;

std::optional<ListenFailure> DnsServer::listen(const std::vector<std::string>& addresses,
                                               int port) {
  impl_->close();
  for (const auto& text : addresses) {
    error_code ec;
    auto address = asio::ip::make_address(text, ec);
    if (ec) {
      impl_->close();
      return ListenFailure{text, port, EINVAL};
    }
    if (impl_->open(address, port, ec)) continue;
    // A machine without IPv6 (or without ::1) cannot have rp's port taken there.
    bool no_such_address = ec.value() == EAFNOSUPPORT || ec.value() == EADDRNOTAVAIL;
    if (address.is_v6() && no_such_address) continue;
    impl_->close();
    return ListenFailure{text, port, ec.value()};
  }
  if (impl_->udp.empty()) {
    return ListenFailure{addresses.empty() ? "" : addresses.front(), port, EADDRNOTAVAIL};
  }
  for (auto& l : impl_->udp) l->start();
  for (auto& l : impl_->tcp) l->start();
  return std::nullopt;
}

std::vector<std::string> DnsServer::endpoints() const {
  return impl_->endpoints;
}

}  // namespace rp::dns
