#include "proxy/output.hpp"

#include <fmt/format.h>

#include <boost/asio/write.hpp>
#include <iterator>

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

asio::awaitable<boost::system::error_code> Output::flush(asio::ip::tcp::socket& socket) {
  if (pieces_.empty()) co_return boost::system::error_code{};
  // Own bytes are resolved only now: own_ may have moved while it grew.
  buffers_.clear();
  for (const auto& p : pieces_) {
    buffers_.push_back(asio::buffer(p.data ? p.data : own_.data() + p.offset, p.size));
  }
  auto [ec, n] = co_await asio::async_write(socket, buffers_, nothrow);
  own_.clear();
  pieces_.clear();
  co_return ec;
}

}  // namespace rp::proxy
