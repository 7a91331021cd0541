#include "proxy/client_stream.hpp"

#include <openssl/ssl.h>

#include "proxy/nothrow.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace rp::proxy {

tcp::socket& socket_of(TlsStream& s) {
  return s.next_layer();
}

bool negotiated_h2(TlsStream& s) {
  const unsigned char* protocol = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(s.native_handle(), &protocol, &size);
  return size == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

asio::awaitable<void> close_connection(tcp::socket& s) {
  boost::system::error_code ec;
  s.close(ec);
  co_return;
}

asio::awaitable<void> close_connection(TlsStream& s) {
  if (s.next_layer().is_open()) {
    // As if the client's close_notify had come: SSL_shutdown then sends ours and is done, instead
    // of waiting for an answer that most clients never send.
    SSL_set_shutdown(s.native_handle(), SSL_RECEIVED_SHUTDOWN);
    co_await s.async_shutdown(nothrow);
  }
  boost::system::error_code ec;
  s.next_layer().close(ec);
}

}  // namespace rp::proxy
