// The app's answer on its way to the client: read from the app's connection, parsed, re-framed
// for the client (proxy/forwarding.hpp says how) and written as it arrives, never gathered
// whole. Interim answers (100 Continue, 103 Early Hints) pass on ahead of the real one; a 101
// hands the connection over to a tunnel. One relay serves a client connection for its life, so
// that its buffer, parser and output are reused request after request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>

#include "proxy/exchange.hpp"
#include "proxy/http/parser.hpp"
#include "proxy/output.hpp"
#include "proxy/stall_watch.hpp"

namespace rp::proxy {

class ResponseRelay {
 public:
  ResponseRelay();

  // Relays the response to `request` from `upstream` to `client`, recording in `exchange` what
  // the session needs afterwards (status, size, whether either connection can go on).
  // `exchange.body_done` may turn true meanwhile: the request body streams up alongside.
  // `Client`: a TCP socket or a TlsStream (proxy/client_stream.hpp). Its writes to the client are
  // waits on the client, marked in `stalls`.
  template <typename Client>
  boost::asio::awaitable<ExchangeEnd> relay(const http::Head& request, Exchange& exchange,
                                            boost::asio::ip::tcp::socket& upstream, Client& client,
                                            StallWatch& stalls);

 private:
  static constexpr std::size_t kBufferSize = 80 * 1024;
  std::unique_ptr<char[]> buffer_;
  http::Parser parser_{http::Parser::Kind::response};
  Output out_;
};

}  // namespace rp::proxy
