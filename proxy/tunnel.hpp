// After a 101 Switching Protocols (WebSocket, or any upgrade the app accepts) the connection is
// no longer HTTP: bytes flow both ways untouched until both sides are done. An end of one
// direction is passed on as a half-close, and a quiet tunnel is never timed out.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string_view>

namespace rp::proxy {

// `to_upstream` and `to_client`: bytes that arrived with the handshake and belong to the tunnel.
boost::asio::awaitable<void> tunnel(boost::asio::ip::tcp::socket& client,
                                    boost::asio::ip::tcp::socket& upstream,
                                    std::string_view to_upstream, std::string_view to_client);

}  // namespace rp::proxy
