// Bytes to send in one gathered write: rp's own (heads, chunk sizes), kept in one string, and
// views of bytes that stay put until the write completes (bodies in a read buffer). One Output
// serves a connection for its life, so that its memory is reused request after request instead
// of allocated for each: the forwarding path does no allocation once a connection is warm.
// Over TLS the pieces are first copied into one buffer: OpenSSL writes one buffer at a time, and a
// record per piece would cost a system call and a record header each.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace rp::proxy {

class Output {
 public:
  // Appends rp's own bytes, written by `write(std::string&)`.
  template <typename Write>
  void add_own(Write&& write) {
    const std::size_t from = own_.size();
    write(own_);
    pieces_.push_back({nullptr, from, own_.size() - from});
  }
  // Appends bytes that must stay where they are until flush() completes.
  void add_view(std::string_view v) {
    if (!v.empty()) pieces_.push_back({v.data(), 0, v.size()});
  }
  // Body bytes in the given framing.
  void body(std::string_view data, bool chunked);
  // The terminating chunk of a chunked body.
  void last_chunk();
  // Forgets what is gathered and not sent (left by an exchange that was cut short).
  void clear() {
    own_.clear();
    pieces_.clear();
  }
  // Writes everything gathered, in order, and starts over. `Stream`: a TCP socket or a TlsStream
  // (proxy/client_stream.hpp).
  template <typename Stream>
  boost::asio::awaitable<boost::system::error_code> flush(Stream& stream);

  // Over TCP, sends everything gathered at once when the socket takes it all, as it nearly always
  // does (its send buffer holds hundreds of KiB): no coroutine, no trip through the reactor.
  // True: done, and `ec` says how it went. False: something is left (or `stream` is TLS), and
  // flush() sends the rest. So: `if (!out.try_flush(s, ec)) ec = co_await out.flush(s);`.
  template <typename Stream>
  bool try_flush(Stream& stream, boost::system::error_code& ec);

 private:
  struct Piece {
    const char* data;  // nullptr: own_[offset, offset + size), resolved when written
    std::size_t offset;
    std::size_t size;
  };
  std::string own_;
  std::vector<Piece> pieces_;
  std::vector<boost::asio::const_buffer> buffers_;

  // A piece's bytes. Own bytes are resolved only when written: own_ may move while it grows.
  std::string_view view(const Piece& p) const {
    return {p.data ? p.data : own_.data() + p.offset, p.size};
  }
  bool try_send(int fd, boost::system::error_code& ec);
};

template <typename Stream>
bool Output::try_flush(Stream& stream, boost::system::error_code& ec) {
  if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
    return try_send(stream.native_handle(), ec);
  } else {
    (void)stream;
    ec.clear();
    return false;
  }
}

}  // namespace rp::proxy
