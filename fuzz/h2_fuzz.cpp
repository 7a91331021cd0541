// libFuzzer target over rp's HTTP/2 side: a client's bytes go through the Engine (nghttp2's
// framing, and rp's callbacks and checks on top of it), and every request is answered at once
// through the glue the connection uses: to_http1 on the request (or its refusal), then the
// HTTP/2 fields of a fixed HTTP/1.1 response head (response_fields, response_status), a body
// written, the stream ended. Request bodies are consumed, frames are drained after every read.
// Nothing may crash, leak or read out of bounds (ASan, UBSan), and the HTTP/1.1 request written
// for the app must parse back as that one request (no smuggling).
//
// The first byte says how: whether a client preface and an empty SETTINGS come first (so that
// the fuzzer starts among frames, past the preface it would rarely guess), the size of the reads,
// whether bodies are credited back at once or after the read, an interim 103, whether answers
// are written at once or a piece after each read, the answer's size.
// libnghttp2 is the system's, not instrumented: coverage guides the fuzzer through rp's code, and
// nghttp2's own parsing is fuzzed upstream (OSS-Fuzz).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/forwarding.hpp"
#include "proxy/h2/engine.hpp"
#include "proxy/h2/request.hpp"
#include "proxy/http/parser.hpp"

namespace {

using namespace std::string_view_literals;

constexpr std::string_view kPreface =
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    "\x00\x00\x00\x04\x00\x00\x00\x00\x00"sv;  // SETTINGS, empty

constexpr std::size_t kReadSizes[] = {1, 17, 1024, SIZE_MAX};
constexpr std::size_t kBodySizes[] = {11, 0, 20000, 70000};  // 70000: past Engine::kHighWater
constexpr std::size_t kPiece = 8 * 1024;  // what a gradual answer writes after each read

// Bits of the first byte.
constexpr std::uint8_t kPrefix = 0x1;      // prepend kPreface
constexpr std::uint8_t kKeepBodies = 0x2;  // on_body takes the bytes; consumed after the read
constexpr std::uint8_t kEarlyHints = 0x4;  // a 103 ahead of each answer
constexpr std::uint8_t kGradual = 0x8;     // answers are written a piece after each read
constexpr int kBodyShift = 4;              // 2 bits: kBodySizes
constexpr int kReadShift = 6;              // 2 bits: kReadSizes

rp::http::Head app_response(int status, std::vector<rp::http::Header> headers) {
  rp::http::Head head;
  head.status = status;
  head.headers = std::move(headers);
  return head;
}

// What an app answers (its status and fields as it sent them), one per kBodySizes.
const rp::http::Head& ok_response(std::size_t index) {
  static const rp::http::Head heads[] = {
      app_response(200, {{"Content-Type", "text/html; charset=utf-8"},
                         {"Content-Length", std::to_string(kBodySizes[0])},
                         {"Connection", "keep-alive, X-Hop"},
                         {"X-Hop", "1"},
                         {"Keep-Alive", "timeout=5"},
                         {"Set-Cookie", "a=1; Path=/"},
                         {"Set-Cookie", "b=2"},
                         {"Cache-Control", "no-store"}}),
      app_response(204, {{"Content-Length", "0"}, {"Server", "app"}}),
      app_response(200, {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}),
      app_response(200, {{"Content-Type", "application/octet-stream"},
                         {"Content-Length", std::to_string(kBodySizes[3])},
                         {"Upgrade", "h2c"}}),
  };
  return heads[index];
}

const rp::http::Head& websocket_response() {
  static const rp::http::Head head =
      app_response(101, {{"Upgrade", "websocket"},
                         {"Connection", "Upgrade"},
                         {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
                         {"Sec-WebSocket-Protocol", "chat"}});
  return head;
}

bool breaks_lines(std::string_view s) {
  return s.find_first_of("\r\n\0"sv) != std::string_view::npos;
}

// The HTTP/1.1 request rp writes for `head` (as the connection does) holds no CR, LF or NUL but
// its own line ends, and reads back as that one request head with nothing after it: no field of
// an HTTP/2 request may end a line, start another field or another request on the app's side.
// rp's parser may refuse it as a whole (llhttp knows fewer methods than HTTP/2 lets through):
// then an app like it answers 400, and nothing was smuggled either.
void check_forwarded(const rp::http::Head& head) {
  static const rp::http::ClientInfo client{"127.0.0.1", 443, "https"};
  static const rp::http::Pseudonym self{"rp-fuzz"};
  if (head.headers.empty() || head.headers.front().name != "host") __builtin_trap();
  if (breaks_lines(head.method) || breaks_lines(head.target)) __builtin_trap();
  for (const auto& h : head.headers) {
    if (breaks_lines(h.name) || breaks_lines(h.value)) __builtin_trap();
  }
  std::string text;
  rp::http::append_upstream_request(text, head, client, self);
  std::size_t lines = 0;
  for (std::size_t at = text.find("\r\n"); at != std::string::npos;
       at = text.find("\r\n", at + 2)) {
    ++lines;
  }
  rp::http::Parser parser(rp::http::Parser::Kind::request);
  const auto step = parser.feed(text);
  if (step.status == rp::http::Parser::Status::error) return;
  const auto& read = parser.head();
  if (step.consumed != text.size() || read.method != head.method || read.target != head.target ||
      read.headers.size() + 2 != lines) {
    __builtin_trap();
  }
}

// Answers every request as soon as its headers are in, as the connection would once the app
// has answered.
class Answerer final : public rp::h2::Engine::Handler {
 public:
  explicit Answerer(std::uint8_t mode)
      : mode_(mode), answer_((mode >> kBodyShift) & 3), body_(kBodySizes[answer_], 'b') {}

  void attach(rp::h2::Engine& engine) { engine_ = &engine; }

  void on_request(std::int32_t stream, rp::h2::Request& request, bool end_stream) override {
    const bool websocket = rp::h2::is_websocket(request);
    rp::http::Head head;
    rp::h2::Refusal refusal;
    if (request.too_large) {
      refusal = {431, "the request's header list is too large"};
    } else {
      refusal =
          rp::h2::to_http1(request, end_stream, websocket ? "dGhlIHNhbXBsZSBub25jZQ==" : "", head);
    }
    if (refusal.status) {
      with_body_.push_back(stream);
      engine_->respond(
          stream, refusal.status,
          {{"content-type", "text/plain"}, {"content-length", std::to_string(refusal.what.size())}},
          false);
      engine_->write(stream, refusal.what);
      engine_->end(stream);
      return;
    }
    check_forwarded(head);

    if (mode_ & kEarlyHints) engine_->inform(stream, 103, {{"link", "</app.css>; rel=preload"}});
    const rp::http::Head& app = websocket ? websocket_response() : ok_response(answer_);
    rp::h2::response_fields(app, fields_);
    const int status = rp::h2::response_status(app.status, websocket);
    const bool no_body = body_.empty() || head.method == "HEAD";
    engine_->respond(stream, status, fields_, no_body);
    if (no_body) return;
    with_body_.push_back(stream);
    if (mode_ & kGradual) {
      answering_.emplace_back(stream, 0);
      return;
    }
    engine_->write(stream, body_);
    engine_->end(stream);
  }

  bool on_body(std::int32_t stream, std::string_view data) override {
    if (!(mode_ & kKeepBodies)) return false;
    taken_.emplace_back(stream, data.size());
    return true;
  }

  void on_body_end(std::int32_t) override {}
  void on_close(std::int32_t stream) override { closed_.push_back(stream); }
  void on_drained(std::int32_t) override {}

  // After a read, as the connection goes on: the bodies taken are passed on (credited back, even
  // for streams closed since); gradual answers get their next piece (all of it on the `last`),
  // written whether or not the client has reset the stream meanwhile, and end, or are reset as
  // when the app's connection breaks (one stream in eight).
  void settle(bool last) {
    for (const auto& [stream, size] : taken_) engine_->consume(stream, size);
    taken_.clear();
    for (auto it = answering_.begin(); it != answering_.end();) {
      auto& [stream, written] = *it;
      const std::size_t n =
          last ? body_.size() - written : std::min(kPiece, body_.size() - written);
      engine_->write(stream, std::string_view(body_).substr(written, n));
      written += n;
      if (written < body_.size()) {
        ++it;
        continue;
      }
      if (stream % 8 == 7) {
        engine_->reset(stream, rp::h2::ErrorCode::internal_error);
      } else {
        engine_->end(stream);
      }
      it = answering_.erase(it);
    }
  }

  // The engine's account of what waits to be sent: nothing for a closed stream, and
  // anything_queued() exactly when some stream has bytes queued.
  void check_queues() const {
    for (std::int32_t stream : closed_) {
      if (engine_->queued(stream) != 0) __builtin_trap();
    }
    bool any = false;
    for (std::int32_t stream : with_body_) any = any || engine_->queued(stream) > 0;
    if (any != engine_->anything_queued()) __builtin_trap();
  }

 private:
  const std::uint8_t mode_;
  const std::size_t answer_;  // which ok_response
  const std::string body_;
  rp::h2::Engine* engine_ = nullptr;
  std::vector<rp::http::Header> fields_;
  std::vector<std::pair<std::int32_t, std::size_t>> taken_;
  std::vector<std::pair<std::int32_t, std::size_t>> answering_;  // gradual: bytes written
  std::vector<std::int32_t> with_body_;                          // streams answered with a body
  std::vector<std::int32_t> closed_;
};

// What the engine has to send, as the connection's writer takes it (bounded: a client can open
// its windows wide, but the answers are finite).
void drain(rp::h2::Engine& engine) {
  std::string out;
  for (int i = 0; i < 256; ++i) {
    out.clear();
    engine.send(out, 16 * 1024);
    if (out.empty()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string input;
  if (mode & kPrefix) input.append(kPreface);
  input.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t step = kReadSizes[(mode >> kReadShift) & 3];

  Answerer answerer(mode);
  rp::h2::Engine engine(answerer, rp::h2::Limits{});
  answerer.attach(engine);
  drain(engine);  // the server's SETTINGS go first, as on a real connection

  std::string_view rest = input;
  bool reading = true;
  while (reading && !rest.empty()) {
    const std::string_view read = rest.substr(0, step);
    rest.remove_prefix(read.size());
    reading = engine.receive(read);
    answerer.settle(false);
    answerer.check_queues();
    drain(engine);
  }
  // The end of the input: the answers complete, and a graceful end, as on a server's shutdown.
  answerer.settle(true);
  engine.shut_down();
  drain(engine);
  answerer.check_queues();
  (void)engine.open_streams();
  (void)engine.wants_read();
  (void)engine.wants_write();
  return 0;
}
