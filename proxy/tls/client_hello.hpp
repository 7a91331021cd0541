// A look at a TLS ClientHello before OpenSSL takes the connection: the name it asks for (SNI) and
// the protocols it offers (ALPN). The listener peeks at the first record with it, so that a
// certificate that must be made is made on another thread while the connection waits, instead
// of inside OpenSSL's handshake, where it would hold up every connection of that proxy thread.
//
// It decides nothing: OpenSSL still parses the real handshake and rp's server-name callback
// still chooses the certificate. Bytes it cannot read only mean "no warm-up". Pure; fuzzed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rp::tls {

struct ClientHello {
  enum class Status {
    need_more,   // a prefix of a TLS record: more bytes may tell
    not_tls,     // not a TLS handshake record (plain HTTP sent to the HTTPS port, say)
    unreadable,  // a handshake record rp does not read (split across records, malformed)
    hello,       // read
  };
  Status status = Status::need_more;
  std::string server_name;        // lower-case host name; empty when the client sent none
  std::vector<std::string> alpn;  // offered protocols, in the client's order
};

// Reads what `bytes` (the connection's first bytes, as far as they have come) says.
ClientHello read_client_hello(std::string_view bytes);

// Whether `bytes` start like a plain HTTP request ("GET /", "POST "...), so that the HTTPS port
// can tell a client that forgot the `s` what happened.
bool looks_like_http(std::string_view bytes);

}  // namespace rp::tls
