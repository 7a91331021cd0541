// HTTP/1.x message parsing on llhttp, for both sides of the proxy. The parser stops where the
// proxy must act: after a request's head (to route it before its body is read), and after each
// message's end (so a pipelined next request waits its turn). Bodies come out decoded, as views
// into the bytes just fed; the proxy frames them again itself, so what it forwards is always
// unambiguous. Beyond llhttp's own checks it refuses obsolete line folding and header names with
// white space: both are ways to smuggle a request past one parser and not another.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rp::http {

struct Header {
  std::string name;
  std::string value;
};

// Headers written over those of a connection's last message, whose strings keep their memory (its
// messages tend to carry the same headers, each about as long as the last time).
// `headers` go to `spares`, in reverse, so that the next message takes them in the same order.
void keep_for_reuse(std::vector<Header>& headers, std::vector<Header>& spares);
// Appends `name: value` to `headers`, in a spare header when there is one.
void add_reusing(std::vector<Header>& headers, std::vector<Header>& spares, std::string_view name,
                 std::string_view value);

// The parts of a message head the proxy needs, with the headers as sent.
struct Head {
  // Requests.
  std::string method;
  std::string target;
  // Responses.
  int status = 0;
  std::string reason;

  int version_major = 1;
  int version_minor = 1;
  std::vector<Header> headers;

  bool chunked = false;  // Transfer-Encoding: chunked
  std::optional<std::uint64_t> content_length;
  bool keep_alive = true;  // what the sender asked for (version and Connection)
  bool upgrade = false;    // Upgrade requested (requests) or 101 (responses)

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  // Whether a comma-separated header (Connection, Expect) has `token` (case-insensitive).
  bool has_token(std::string_view name, std::string_view token) const;
};

class Parser {
 public:
  enum class Kind { request, response };
  enum class Status {
    need_more,     // everything fed was consumed; the message goes on
    head_done,     // a request's head is complete (not for responses)
    message_done,  // a message ended; what follows it was not consumed
    upgrade,       // the message ended and the connection changes protocol (101, CONNECT)
    error,
  };

  struct Step {
    Status status = Status::need_more;
    std::size_t consumed = 0;
    // Decoded body bytes within what was consumed; the list is the parser's, good until its
    // next feed() or finish().
    std::span<const std::string_view> body;

    // The message ended with this step (its end, or a change of protocol).
    bool ended() const { return status == Status::message_done || status == Status::upgrade; }
  };

  explicit Parser(Kind kind);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Ready for a new stream (a new connection), keeping the memory of the last head.
  void reset();

  Step feed(std::string_view data);
  // The connection ended: completes a response whose body runs until close.
  Step finish();

  // The response about to be parsed answers a HEAD request: it has no body.
  void expect_no_body(bool no_body) { no_body_ = no_body; }

  const Head& head() const { return head_; }
  bool in_head() const { return in_head_; }
  bool message_started() const { return started_; }
  // A message has begun and its head is whole: it can be passed on.
  bool head_complete() const { return started_ && !in_head_; }
  // A response with no length, whose body ends when the connection closes.
  bool body_until_close() const;
  const std::string& error() const { return error_; }

 private:
  static int on_message_begin(llhttp_t*);
  static int on_url(llhttp_t*, const char*, std::size_t);
  static int on_status(llhttp_t*, const char*, std::size_t);
  static int on_header_field(llhttp_t*, const char*, std::size_t);
  static int on_header_value(llhttp_t*, const char*, std::size_t);
  static int on_header_value_complete(llhttp_t*);
  static int on_headers_complete(llhttp_t*);
  static int on_body(llhttp_t*, const char*, std::size_t);
  static int on_message_complete(llhttp_t*);

  Step run(std::string_view data, bool at_eof);

  Kind kind_;
  llhttp_settings_t settings_;
  llhttp_t parser_;
  Head head_;
  std::string field_, value_;
  // Where the bytes being parsed are, and where the last piece of a header value ended: to
  // tell a value split across reads from an obsolete folded line.
  const char* exec_begin_ = nullptr;
  const char* exec_end_ = nullptr;
  const char* value_end_ = nullptr;
  bool value_end_was_buffer_end_ = false;
  bool value_started_ = false;
  bool in_head_ = false;
  bool started_ = false;
  bool no_body_ = false;
  bool paused_ = false;
  Status pause_reason_ = Status::need_more;
  std::vector<std::string_view> body_;
  std::vector<Header> spare_headers_;  // the last message's, their strings' memory kept
  std::string error_;
};

bool iequals(std::string_view a, std::string_view b);

}  // namespace rp::http
