#include "proxy/http/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace rp::http {
namespace {

Parser* self(llhttp_t* p) {
  return static_cast<Parser*>(p->data);
}

// RFC 9110 token characters: what a header name may be made of.
constexpr auto kTchar = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 32] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();
bool is_tchar(char c) {
  return kTchar[static_cast<unsigned char>(c)];
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  // ASCII only, as header names are; std::tolower would consult the locale for every byte.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

const std::string* Head::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::size_t Head::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const Header& h) { return iequals(h.name, name); }));
}

bool Head::has_token(std::string_view name, std::string_view token) const {
  for (const auto& h : headers) {
    if (!iequals(h.name, name)) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

void Parser::reset() {
  llhttp_init(&parser_, kind_ == Kind::request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  parser_.data = this;
  in_head_ = started_ = no_body_ = paused_ = value_started_ = false;
  pause_reason_ = Status::need_more;
  error_.clear();
}

Parser::Parser(Kind kind) : kind_(kind) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = on_message_begin;
  settings_.on_url = on_url;
  settings_.on_status = on_status;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_header_value_complete = on_header_value_complete;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  llhttp_init(&parser_, kind == Kind::request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

int Parser::on_message_begin(llhttp_t* p) {
  Parser* s = self(p);
  // Cleared, not replaced: the strings and the header list keep their memory for the next
  // message on the connection.
  Head& h = s->head_;
  h.method.clear();
  h.target.clear();
  h.status = 0;
  h.reason.clear();
  h.version_major = h.version_minor = 1;
  keep_for_reuse(h.headers, s->spare_headers_);
  h.chunked = false;
  h.content_length.reset();
  h.keep_alive = true;
  h.upgrade = false;
  s->field_.clear();
  s->value_.clear();
  s->in_head_ = true;
  s->started_ = true;
  return 0;
}

int Parser::on_url(llhttp_t* p, const char* at, std::size_t n) {
  self(p)->head_.target.append(at, n);
  return 0;
}

int Parser::on_status(llhttp_t* p, const char* at, std::size_t n) {
  self(p)->head_.reason.append(at, n);
  return 0;
}

int Parser::on_header_field(llhttp_t* p, const char* at, std::size_t n) {
  self(p)->field_.append(at, n);
  return 0;
}

int Parser::on_header_value(llhttp_t* p, const char* at, std::size_t n) {
  Parser* s = self(p);
  // llhttp joins an obsolete folded line (CRLF then white space) to the value silently: the
  // second piece then does not start where the first ended, nor at the start of a new buffer
  // that the first piece ran up to.
  if (s->value_started_) {
    const bool contiguous =
        at == s->value_end_ || (at == s->exec_begin_ && s->value_end_was_buffer_end_);
    if (!contiguous) {
      s->error_ = "obsolete line folding in header " + s->field_;
      return -1;
    }
  }
  if (!s->value_started_ && n > 0) {
    // The value's first piece: llhttp skipped the white space before it, which must lead back
    // to the colon. A line end there means an empty value continued on a folded line.
    const char* p = at;
    while (p > s->exec_begin_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
    if (p > s->exec_begin_ && p[-1] == '\n') {
      s->error_ = "obsolete line folding in header " + s->field_;
      return -1;
    }
  }
  s->value_started_ = true;
  s->value_end_ = at + n;
  s->value_end_was_buffer_end_ = at + n == s->exec_end_;
  s->value_.append(at, n);
  return 0;
}

int Parser::on_header_value_complete(llhttp_t* p) {
  Parser* s = self(p);
  if (s->field_.empty() || !std::all_of(s->field_.begin(), s->field_.end(), is_tchar)) {
    s->error_ = "invalid header name";
    return -1;
  }
  s->value_started_ = false;
  while (!s->value_.empty() && (s->value_.back() == ' ' || s->value_.back() == '\t')) {
    s->value_.pop_back();
  }
  // Copied into a header of an earlier message, whose strings have the room more often than
  // not; field_ and value_ keep theirs.
  add_reusing(s->head_.headers, s->spare_headers_, s->field_, s->value_);
  s->field_.clear();
  s->value_.clear();
  return 0;
}

int Parser::on_headers_complete(llhttp_t* p) {
  Parser* s = self(p);
  Head& h = s->head_;
  h.version_major = p->http_major;
  h.version_minor = p->http_minor;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  if (p->flags & F_CONTENT_LENGTH) h.content_length = p->content_length;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  s->in_head_ = false;
  if (s->kind_ == Kind::request) {
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    h.upgrade = p->upgrade != 0;
    s->pause_reason_ = Status::head_done;
    return HPE_PAUSED;
  }
  if (p->status_code < 100 || p->status_code > 599) {
    // RFC 9110 15: a status is three digits, the first 1 to 5. llhttp takes any three ("000").
    s->error_ = fmt::format("status {} is not an HTTP status", p->status_code);
    return -1;
  }
  h.status = p->status_code;
  h.upgrade = p->status_code == 101;
  // 1 tells llhttp that this response has no body whatever its headers say: an answer to HEAD,
  // and 1xx, 204 and 304 (RFC 9112 6.3), for which llhttp alone would read the body that a
  // Content-Length or Transfer-Encoding announces.
  const int code = p->status_code;
  return s->no_body_ || code < 200 || code == 204 || code == 304 ? 1 : 0;
}

int Parser::on_body(llhttp_t* p, const char* at, std::size_t n) {
  self(p)->body_.emplace_back(at, n);
  return 0;
}

int Parser::on_message_complete(llhttp_t* p) {
  Parser* s = self(p);
  s->started_ = false;
  s->pause_reason_ = Status::message_done;
  return HPE_PAUSED;
}

void keep_for_reuse(std::vector<Header>& headers, std::vector<Header>& spares) {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) spares.push_back(std::move(*it));
  headers.clear();
}

void add_reusing(std::vector<Header>& headers, std::vector<Header>& spares, std::string_view name,
                 std::string_view value) {
  Header header;
  if (!spares.empty()) {
    header = std::move(spares.back());
    spares.pop_back();
  }
  header.name.assign(name);
  header.value.assign(value);
  headers.push_back(std::move(header));
}

Parser::Step Parser::feed(std::string_view data) {
  return run(data, false);
}

Parser::Step Parser::finish() {
  return run({}, true);
}

bool Parser::body_until_close() const {
  return kind_ == Kind::response && !in_head_ && started_ && llhttp_message_needs_eof(&parser_);
}

Parser::Step Parser::run(std::string_view data, bool at_eof) {
  Step step;
  body_.clear();
  if (paused_) {
    llhttp_resume(&parser_);
    paused_ = false;
  }
  exec_begin_ = data.data();
  exec_end_ = data.data() + data.size();
  llhttp_errno_t err =
      at_eof ? llhttp_finish(&parser_) : llhttp_execute(&parser_, data.data(), data.size());
  step.body = body_;
  switch (err) {
    case HPE_OK:
      step.consumed = data.size();
      step.status = Status::need_more;
      if (at_eof && !started_) step.status = Status::message_done;
      return step;
    case HPE_PAUSED:
      paused_ = true;
      // llhttp_finish pauses without setting the error position: nothing was fed to consume.
      step.consumed =
          at_eof ? 0 : static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
      step.status = pause_reason_;
      return step;
    case HPE_PAUSED_UPGRADE:
      step.consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data.data());
      step.status = Status::upgrade;
      return step;
    default:
      if (error_.empty()) error_ = llhttp_get_error_reason(&parser_);
      step.status = Status::error;
      return step;
  }
}

}  // namespace rp::http
