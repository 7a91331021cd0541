// After a 101 Switching Protocols (WebSocket, or any upgrade the app accepts) the connection is
// no longer HTTP: bytes flow both ways untouched until both sides are done. An end of one
// direction is passed on as a half-close, and a quiet tunnel is never timed out.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string_view>

namespace rp::proxy {

// `to_upstream` and `to_client`: bytes that arrived with the handshake and belong to the tunnel.
// `Client`: a TCP socket or a TlsStream (proxy/client_stream.hpp); over TLS, the end of the app's
// side is passed on as the end of the TCP connection's sending side (WebSocket has its own
// closing handshake before it).
template <typename Client>
boost::asio::awaitable<void> tunnel(Client& client, boost::asio::ip::tcp::socket& upstream,
                                    std::string_view to_upstream, std::string_view to_client);

}  // namespace rp::proxy
