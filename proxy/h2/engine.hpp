// HTTP/2 framing for one client connection, on nghttp2, without sockets: bytes from the client go
// in, requests and their bodies come out to a Handler; responses and their bodies go in, bytes for
// the client come out. The session (proxy/h2_session.hpp) moves the bytes and forwards the
// requests; this is the part that decides what a frame means, and the part the fuzzer drives.
//
// What it enforces, beyond nghttp2's own checks of RFC 9113 (frames, pseudo-headers, a
// content-length against the DATA sent, connection-specific fields, CR/LF/NUL in values):
// - at most `max_streams` open streams (more are refused);
// - a header list past `max_header_list` bytes: the request still comes out, marked too large
//   (the answer is 431), with its fields dropped;
// - floods: a header block split into too many CONTINUATION frames, or RST_STREAM (rapid
//   reset), SETTINGS, PING, PRIORITY or empty DATA frames faster than `control_frames_per_second`
//   end the connection with GOAWAY ENHANCE_YOUR_CALM (resets kept up past 33 a second after a
//   burst: nghttp2's own GOAWAY, INTERNAL_ERROR);
// - flow control both ways: a request body is credited back only as the handler consumes it
//   (consume()), so a slow app slows its client's upload; a response body queued past a few
//   frames is the handler's cue to stop reading the app (queued(), on_drained()).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/h2/request.hpp"

namespace rp::h2 {

struct Limits {
  std::uint32_t max_streams = 128;
  std::size_t max_header_list = 64 * 1024;
  std::int32_t stream_window = 256 * 1024;       // request body bytes a stream may have unconsumed
  std::int32_t connection_window = 1024 * 1024;  // ... and all of them together
  int control_frames_per_second = 1000;
};

// Error codes of RFC 9113 section 7 that rp sends.
enum class ErrorCode : std::uint32_t {
  no_error = 0x0,
  protocol_error = 0x1,
  internal_error = 0x2,
  refused_stream = 0x7,
  cancel = 0x8,
  enhance_your_calm = 0xb,
};

class Engine {
 public:
  class Handler {
   public:
    // A request's headers are complete. `end_stream`: it has no body. The handler takes what it
    // keeps of `request` by swapping it with a Request of its own (a spare one of an earlier
    // stream, say): the engine clears what it is left with and writes the next request over it.
    virtual void on_request(std::int32_t stream, Request& request, bool end_stream) = 0;
    // Body bytes for a stream the handler took. False: it does not want them (they are credited
    // back at once); true: it calls consume() once it has passed them on.
    virtual bool on_body(std::int32_t stream, std::string_view data) = 0;
    virtual void on_body_end(std::int32_t stream) = 0;
    // The stream is over: answered, reset by either side, or the connection ended.
    virtual void on_close(std::int32_t stream) = 0;
    // The stream's queued response bytes went below the low-water mark.
    virtual void on_drained(std::int32_t stream) = 0;

   protected:
    ~Handler() = default;
  };

  // A response body queued past this is the handler's cue to wait for on_drained().
  static constexpr std::size_t kHighWater = 64 * 1024;

  Engine(Handler& handler, const Limits& limits);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The client's bytes. False: the connection is over (what is left to send, a GOAWAY, is still
  // to be sent).
  bool receive(std::string_view bytes);
  // Appends to `out` the frames ready to go, until about `max` bytes are there.
  void send(std::string& out, std::size_t max);
  bool wants_read() const;
  bool wants_write() const;

  // The response head (`:status` and `fields`); `end_stream`: no body follows.
  void respond(std::int32_t stream, int status, const std::vector<http::Header>& fields,
               bool end_stream);
  // An interim response (103 Early Hints) ahead of the real one.
  void inform(std::int32_t stream, int status, const std::vector<http::Header>& fields);
  // Response body bytes, copied into the stream's queue; end() closes the body.
  void write(std::int32_t stream, std::string_view data);
  void end(std::int32_t stream);
  std::size_t queued(std::int32_t stream) const;
  // Whether any stream has body bytes waiting (for the client's flow-control window, mostly),
  // and when DATA last went out (or, after a time with nothing queued, when bytes came to wait).
  bool anything_queued() const;
  std::chrono::steady_clock::time_point last_data_sent() const;

  void reset(std::int32_t stream, ErrorCode error);
  // Request body bytes of `stream` passed on: the client may send as many more.
  void consume(std::int32_t stream, std::size_t bytes);

  // A graceful end: GOAWAY naming the last stream taken; those finish, no new ones start.
  void shut_down();
  // An end now: GOAWAY with `error`, every stream closed.
  void terminate(ErrorCode error);

  std::size_t open_streams() const;

  // Lets go of the spare memory kept for the next streams (the connection is idle).
  void trim();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rp::h2
