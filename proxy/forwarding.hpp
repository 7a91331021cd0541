// How a message head changes on its way through the proxy (pure functions, fuzzed): hop-by-hop
// headers and those the Connection header names are dropped, the body framing is rp's own (the
// body is re-framed, never passed through as the client framed it), X-Forwarded-* and Via are
// set, and Host is passed unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/message.hpp"

namespace rp::http {

struct ClientInfo {
  std::string address;  // the client's IP, for X-Forwarded-For
  int local_port = 0;   // the port it connected to, for X-Forwarded-Port
  std::string proto = "http";
};

// The proxy's name in Via, unique per rp process: seeing it on an incoming request means the
// request went round in a loop.
struct Pseudonym {
  std::string token;  // "rp-1a2b3c4d"
};

// Whether `request` already passed through this proxy (its Via names our pseudonym).
bool is_loop(const Head& request, const Pseudonym& self);

// The request head to send upstream, always HTTP/1.1 with keep-alive. A body is sent chunked
// unless its length is known.
std::string upstream_request(const Head& request, const ClientInfo& client, const Pseudonym& self);
// The same, appended to `out` (the proxy reuses one buffer per connection).
void append_upstream_request(std::string& out, const Head& request, const ClientInfo& client,
                             const Pseudonym& self);

// How the response body is framed towards the client.
enum class Framing { none, length, chunked, until_close };

Framing response_framing(const Head& response, bool head_request, bool client_http11);

// The response head to send to the client. An HTTP/1.0 client that asked to keep the connection
// open must be told it may (`announce_keep_alive`): for 1.0, closing is the default.
std::string client_response(const Head& response, Framing framing, bool keep_alive,
                            bool announce_keep_alive = false);
void append_client_response(std::string& out, const Head& response, Framing framing,
                            bool keep_alive, bool announce_keep_alive = false);

}  // namespace rp::http
