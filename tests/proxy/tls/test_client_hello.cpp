#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "proxy/tls/client_hello.hpp"

using rp::tls::ClientHello;
using rp::tls::read_client_hello;

namespace {

// The first bytes a real OpenSSL client sends: its ClientHello, with `server_name` (none when
// empty) and ALPN offering h2 and http/1.1.
std::string real_client_hello(const std::string& server_name) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  SSL* ssl = SSL_new(ctx.get());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);  // owned by ssl from now on
  SSL_set_connect_state(ssl);
  if (!server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  static const unsigned char protocols[] = "\x02h2\x08http/1.1";
  SSL_set_alpn_protos(ssl, protocols, sizeof protocols - 1);
  SSL_do_handshake(ssl);  // wants to read the answer: the hello is written by then
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(size));
  SSL_free(ssl);
  return hello;
}

}  // namespace

TEST_CASE("a real ClientHello gives its server name, lower-cased, and its ALPN protocols") {
  const auto hello = read_client_hello(real_client_hello("Shop.Test"));
  REQUIRE(hello.status == ClientHello::Status::hello);
  CHECK(hello.server_name == "shop.test");
  CHECK(hello.alpn == std::vector<std::string>{"h2", "http/1.1"});
}

TEST_CASE("a ClientHello without SNI has no server name") {
  const auto hello = read_client_hello(real_client_hello(""));
  REQUIRE(hello.status == ClientHello::Status::hello);
  CHECK(hello.server_name.empty());
}

TEST_CASE("every prefix of a ClientHello record needs more bytes") {
  const std::string bytes = real_client_hello("web.shop.test");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO(n);
    CHECK(read_client_hello(bytes.substr(0, n)).status == ClientHello::Status::need_more);
  }
  // Bytes after the record (the client's next one) change nothing.
  CHECK(read_client_hello(bytes + "\x14\x03\x03").server_name == "web.shop.test");
}

TEST_CASE("plain HTTP on the HTTPS port is not TLS, and looks like HTTP") {
  const std::string request = "GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n";
  CHECK(read_client_hello(request).status == ClientHello::Status::not_tls);
  CHECK(rp::tls::looks_like_http(request));
  CHECK_FALSE(rp::tls::looks_like_http("\x16\x03\x01"));
  CHECK_FALSE(rp::tls::looks_like_http("GETTING"));
}

TEST_CASE("handshake records that are not a readable ClientHello") {
  using namespace std::string_literals;
  // Not version 3.x, or an empty or oversized record: not TLS at all.
  CHECK(read_client_hello("\x16\x02\x00\x00\x05hello"s).status == ClientHello::Status::not_tls);
  CHECK(read_client_hello("\x16\x03\x01\x00\x00"s).status == ClientHello::Status::not_tls);
  CHECK(read_client_hello("\x16\x03\x01\xff\xff"s).status == ClientHello::Status::not_tls);
  // A whole record that is not a ClientHello, or one whose lengths overrun.
  CHECK(read_client_hello("\x16\x03\x01\x00\x04\x02\x00\x00\x00"s).status ==
        ClientHello::Status::unreadable);
  CHECK(read_client_hello("\x16\x03\x01\x00\x04\x01\x00\xff\xff"s).status ==
        ClientHello::Status::unreadable);
  // A ClientHello whose server_name extension lies about its length.
  std::string hello = real_client_hello("shop.test");
  const auto at = hello.find("shop.test");
  REQUIRE(at != std::string::npos);
  hello[at - 1] = '\x7f';  // the name's length
  CHECK(read_client_hello(hello).status == ClientHello::Status::unreadable);
}
