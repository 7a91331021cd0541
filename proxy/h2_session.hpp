// HTTP/2 on a client's TLS connection (ALPN chose h2): the framing is proxy/h2/engine.hpp's; here
// the bytes move, and each stream is served by a coroutine of the connection's (as many as it has
// streams at once, each taking the next stream when its own ends), on the connection's thread:
// routed and woken like an HTTP/1.1 request (proxy/dispatch.hpp), forwarded as an HTTP/1.1
// exchange on one of the thread's pooled connections to the app, its body streaming both ways
// under flow control. A WebSocket's extended CONNECT becomes an Upgrade to the app and then a
// tunnel inside the stream.
//
// Timeouts: a connection with no open stream is closed (GOAWAY) after keepalive_timeout, or
// header_timeout if nothing came at all; a response that the client's window keeps from moving for
// header_timeout, or a client that stops reading, ends the connection; a request body that the
// client or the app holds still (proxy/stall_watch.hpp) ends its stream.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "proxy/client_stream.hpp"
#include "proxy/forwarding.hpp"

namespace rp::proxy {

struct ProxyThread;

// Serves HTTP/2 on `client` (its handshake done) until the connection ends. `owner` holds
// `client`: it is kept until the last of the connection's coroutines has ended, some of which may
// outlive the call by a moment (so the connection counts against max_connections until then).
boost::asio::awaitable<void> serve_h2(ProxyThread& thread, TlsStream& client,
                                      const http::ClientInfo& info, std::shared_ptr<void> owner);

}  // namespace rp::proxy
