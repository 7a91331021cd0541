#include "proxy/output.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <iterator>

#include "proxy/client_stream.hpp"
#include "proxy/nothrow.hpp"

namespace asio = boost::asio;

namespace rp::proxy {

namespace {
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
}  // namespace

void Output::body(std::string_view data, bool chunked) {
  if (data.empty()) return;
  if (chunked) {
    add_own([&](std::string& out) {
      fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
    });
  }
  add_view(data);
  if (chunked) add_view(kCrlf);
}

void Output::last_chunk() {
  add_view(kLastChunk);
}

bool Output::try_send(int fd, boost::system::error_code& ec) {
  ec.clear();
  if (pieces_.empty()) return true;
  constexpr std::size_t kMaxPieces = 64;
  if (pieces_.size() > kMaxPieces) return false;
  iovec parts[kMaxPieces];
  std::size_t total = 0;
  for (std::size_t i = 0; i < pieces_.size(); ++i) {
    const std::string_view bytes = view(pieces_[i]);
    parts[i] = {const_cast<char*>(bytes.data()), bytes.size()};
    total += bytes.size();
  }
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = pieces_.size();
  const ssize_t sent = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  if (sent < 0 || static_cast<std::size_t>(sent) == total) {
    if (sent < 0) ec.assign(errno, boost::system::system_category());
    own_.clear();
    pieces_.clear();
    return true;
  }
  // Part of it went (the send buffer was full): the rest is copied into one piece for flush().
  // Rare, and simpler than resuming in the middle of a piece.
  std::string rest;
  std::size_t skip = static_cast<std::size_t>(sent);
  for (std::size_t i = 0; i < pieces_.size(); ++i) {
    const std::size_t size = parts[i].iov_len;
    if (skip < size) rest.append(static_cast<const char*>(parts[i].iov_base) + skip, size - skip);
    skip -= std::min(skip, size);
  }
  own_ = std::move(rest);
  pieces_.assign(1, {nullptr, 0, own_.size()});
  return false;
}

template <typename Stream>
asio::awaitable<boost::system::error_code> Output::flush(Stream& stream) {
  if (pieces_.empty()) co_return boost::system::error_code{};
  // Over TLS too: the stream gathers small pieces into whole records itself
  // (proxy/tls/tls_stream.hpp).
  buffers_.clear();
  for (const auto& p : pieces_) buffers_.push_back(asio::buffer(view(p)));
  auto [ec, n] = co_await asio::async_write(stream, buffers_, nothrow);
  own_.clear();
  pieces_.clear();
  co_return ec;
}

template asio::awaitable<boost::system::error_code> Output::flush(asio::ip::tcp::socket&);
template asio::awaitable<boost::system::error_code> Output::flush(TlsStream&);

}  // namespace rp::proxy
