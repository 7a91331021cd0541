#include "proxy/output.hpp"

#include <fmt/format.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
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

template <typename Stream>
asio::awaitable<boost::system::error_code> Output::flush(Stream& stream) {
  if (pieces_.empty()) co_return boost::system::error_code{};
  // Own bytes are resolved only now: own_ may have moved while it grew.
  auto piece = [this](const Piece& p) {
    return std::string_view(p.data ? p.data : own_.data() + p.offset, p.size);
  };
  boost::system::error_code ec;
  if constexpr (is_tls<Stream>) {
    joined_.clear();
    for (const auto& p : pieces_) joined_ += piece(p);
    auto [e, n] = co_await asio::async_write(stream, asio::buffer(joined_), nothrow);
    ec = e;
  } else {
    buffers_.clear();
    for (const auto& p : pieces_) buffers_.push_back(asio::buffer(piece(p)));
    auto [e, n] = co_await asio::async_write(stream, buffers_, nothrow);
    ec = e;
  }
  own_.clear();
  pieces_.clear();
  co_return ec;
}

template asio::awaitable<boost::system::error_code> Output::flush(asio::ip::tcp::socket&);
template asio::awaitable<boost::system::error_code> Output::flush(TlsStream&);

}  // namespace rp::proxy
