// The two kinds of client connection a session serves: plain TCP, and TLS over TCP. What differs
// between them is here; the session, the response relay, the output and the tunnel are written
// once for both (templates instantiated for these two types in their .cpp files). The TLS stream
// is rp's own (proxy/tls/tls_stream.hpp); OpenSSL's headers stay out of this one.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <type_traits>

#include "proxy/tls/tls_stream.hpp"

namespace rp::proxy {

using TlsStream = tls::TlsStream;

template <typename Stream>
inline constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

// The TCP connection underneath.
inline boost::asio::ip::tcp::socket& socket_of(boost::asio::ip::tcp::socket& s) {
  return s;
}
boost::asio::ip::tcp::socket& socket_of(TlsStream& s);

// Whether the TLS handshake chose HTTP/2 (ALPN "h2").
bool negotiated_h2(TlsStream& s);

// Ends the connection: for TLS, a close_notify first (without waiting for the client's), so that
// a body framed by the end of the connection is not taken for a truncated one.
boost::asio::awaitable<void> close_connection(boost::asio::ip::tcp::socket& s);
boost::asio::awaitable<void> close_connection(TlsStream& s);

}  // namespace rp::proxy
