// One request and its response as they pass through a client connection: what the session
// learns about them between reading the request head and the end of the answer. A value made
// fresh for every request, so that nothing of one request can leak into the next; what is worth
// reusing across requests (buffers, parsers, outputs) stays with the connection. Making one
// allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rp::proxy {

struct Exchange {
  // From the request head.
  bool head_request = false;  // HEAD: the answer has no body, whatever its headers say
  bool html = false;          // the client prefers HTML, so rp's own pages are HTML

  // The request body, as it streams up.
  std::vector<std::string_view> body;  // parsed and not yet sent (views into the client buffer)
  bool body_done = false;              // the client has sent the whole body
  bool body_invalid = false;           // its framing broke while it streamed: a 400 if still can

  // The response, as it streams down.
  bool response_started = false;  // its head went to the client: too late for an error page
  bool response_done = false;     // all of it went to the client (it may close at once)
  int response_status = 0;        // for the access log
  std::uint64_t response_bytes = 0;
  bool client_keep_alive = true;   // its framing lets the client connection serve another request
  bool upstream_reusable = false;  // the app's connection can serve another request
  std::string relay_error;         // " (why)" the app's connection failed, for the error page
  std::string tunnel_leftover;     // after a 101: the app's bytes that belong to the tunnel
};

// How forwarding a request ended.
enum class ExchangeEnd {
  complete,                // the whole response reached the client
  upgraded,                // 101: the connection is a tunnel now
  stale,                   // the app's connection failed before a byte came back
  failed_before_response,  // the app answered, but not with a response head that can be relayed
  aborted,                 // cut short after the response started, or the client went away
};

}  // namespace rp::proxy
