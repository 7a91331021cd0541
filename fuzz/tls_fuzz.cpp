// libFuzzer target over what rp reads of a TLS connection before OpenSSL has it: the ClientHello
// peek (record, handshake, extensions, SNI and ALPN) and the choice of certificate for the name
// found, and for the bytes taken as a name. Nothing may crash or read out of bounds (ASan,
// UBSan). The handshake itself is OpenSSL's; the HTTP that follows it is http_fuzz's.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/client_hello.hpp"
#include "proxy/tls/sni.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> tlds{"test", "localhost", "dev.internal"};
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // As the peek sees it: every prefix the network could deliver first, then the whole.
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, size / 2, size}) {
    if (n > size) continue;
    const auto hello = rp::tls::read_client_hello(bytes.substr(0, n));
    if (hello.status == rp::tls::ClientHello::Status::hello) {
      rp::tls::choose_leaf(hello.server_name, tlds);
    }
  }
  rp::tls::looks_like_http(bytes);
  rp::tls::choose_leaf(bytes.substr(0, 300), tlds);
  return 0;
}
