#include "proxy/response_relay.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <string_view>

#include "proxy/client_stream.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace rp::proxy {

ResponseRelay::ResponseRelay() : buffer_(new char[kBufferSize]) {}

template <typename Client>
asio::awaitable<ExchangeEnd> ResponseRelay::relay(const http::Head& request, Exchange& x,
                                                  tcp::socket& upstream, Client& client,
                                                  StallWatch& stalls) {
  http::Parser& parser = parser_;
  Output& out = out_;
  parser.reset();
  out.clear();  // whatever an aborted exchange left unsent
  parser.expect_no_body(x.head_request);
  const bool client_http11 = request.version_major == 1 && request.version_minor >= 1;
  bool received = false;
  bool chunked = false;
  for (;;) {
    auto [ec, n] =
        co_await upstream.async_read_some(asio::buffer(buffer_.get(), kBufferSize), nothrow);
    bool done = false;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return ExchangeEnd::aborted;
      if (ec == asio::error::eof && parser.body_until_close()) {
        parser.finish();
        if (chunked) out.last_chunk();
        StallWatch::Wait wait(stalls);
        boost::system::error_code e;
        if (!out.try_flush(client, e)) e = co_await out.flush(client);
        x.response_done = !e;
        co_return ExchangeEnd::complete;
      }
      x.relay_error = " (" + ec.message() + ")";
      // Nothing at all back: most likely a kept-alive connection the app had closed.
      if (!received) co_return ExchangeEnd::stale;
      co_return x.response_started ? ExchangeEnd::aborted : ExchangeEnd::failed_before_response;
    }
    received = true;
    std::string_view data(buffer_.get(), n);
    while (!data.empty() && !done) {
      auto step = parser.feed(data);
      data.remove_prefix(step.consumed);
      if (step.status == http::Parser::Status::error) {
        x.relay_error = " (its response is not valid HTTP: " + parser.error() + ")";
        if (!x.response_started) co_return ExchangeEnd::failed_before_response;
        StallWatch::Wait wait(stalls);
        boost::system::error_code ignored;
        if (!out.try_flush(client, ignored)) co_await out.flush(client);
        co_return ExchangeEnd::aborted;
      }
      const bool message_done = step.ended();
      const http::Head& head = parser.head();
      if (!x.response_started && (message_done || parser.head_complete())) {
        if (head.status >= 100 && head.status < 200 && head.status != 101) {
          // Interim (100 Continue, 103 Early Hints): passed on; the real answer follows.
          out.add_own([&](std::string& text) {
            http::append_client_response(text, head, http::Framing::none, true);
          });
          continue;
        }
        auto framing = http::response_framing(head, x.head_request, client_http11);
        chunked = framing == http::Framing::chunked;
        x.client_keep_alive = framing != http::Framing::until_close;
        x.response_status = head.status;
        const bool keep_alive = request.keep_alive && x.client_keep_alive && x.body_done;
        out.add_own([&](std::string& text) {
          http::append_client_response(text, head, framing, keep_alive, !client_http11);
        });
        x.response_started = true;
      }
      for (auto part : step.body) {
        x.response_bytes += part.size();
        out.body(part, chunked);
      }
      if (message_done) {
        done = true;
        if (head.status == 101) {
          x.tunnel_leftover.assign(data);
          StallWatch::Wait wait(stalls);
          boost::system::error_code e;
          if (!out.try_flush(client, e)) e = co_await out.flush(client);
          co_return e ? ExchangeEnd::aborted : ExchangeEnd::upgraded;
        }
        if (chunked) out.last_chunk();
        // Bytes after the response, or a body still coming up: the app's connection is not in
        // a state another request can start from.
        x.upstream_reusable = head.keep_alive && data.empty() && x.body_done;
      }
    }
    boost::system::error_code e;
    {
      StallWatch::Wait wait(stalls);
      if (!out.try_flush(client, e)) e = co_await out.flush(client);
    }
    if (e) co_return ExchangeEnd::aborted;
    if (done) {
      x.response_done = true;
      co_return ExchangeEnd::complete;
    }
  }
}

template asio::awaitable<ExchangeEnd> ResponseRelay::relay(const http::Head&, Exchange&,
                                                           tcp::socket&, tcp::socket&, StallWatch&);
template asio::awaitable<ExchangeEnd> ResponseRelay::relay(const http::Head&, Exchange&,
                                                           tcp::socket&, TlsStream&, StallWatch&);

}  // namespace rp::proxy
