#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/forwarding.hpp"
#include "proxy/http/message.hpp"
#include "proxy/http/parser.hpp"

using rp::http::client_response;
using rp::http::ClientInfo;
using rp::http::Framing;
using rp::http::Head;
using rp::http::is_hop_by_hop;
using rp::http::is_loop;
using rp::http::Parser;
using rp::http::Pseudonym;
using rp::http::reason_phrase;
using rp::http::response_framing;
using rp::http::simple_response;
using rp::http::upstream_request;
using Lines = std::vector<std::string>;

namespace {

// The lines of a head, without their CRLFs; requires the head to end with the empty line and
// to have no bare LF.
Lines lines_of(std::string_view head) {
  REQUIRE(head.size() >= 4);
  REQUIRE(head.substr(head.size() - 4) == "\r\n\r\n");
  head.remove_suffix(2);
  Lines out;
  while (!head.empty()) {
    auto crlf = head.find("\r\n");
    REQUIRE(crlf != std::string_view::npos);
    auto line = head.substr(0, crlf);
    REQUIRE(line.find('\n') == std::string_view::npos);
    out.emplace_back(line);
    head.remove_prefix(crlf + 2);
  }
  return out;
}

// The header lines only (the start line dropped).
Lines headers_of(std::string_view head) {
  Lines all = lines_of(head);
  return Lines(all.begin() + 1, all.end());
}

bool has_header_named(const Lines& headers, std::string_view name) {
  for (const auto& h : headers) {
    auto colon = h.find(':');
    if (colon != std::string::npos &&
        rp::http::iequals(std::string_view(h).substr(0, colon), name)) {
      return true;
    }
  }
  return false;
}

Head request(std::vector<rp::http::Header> headers, std::string method = "GET",
             std::string target = "/") {
  Head h;
  h.method = std::move(method);
  h.target = std::move(target);
  h.headers = std::move(headers);
  return h;
}

Head response(int status, std::vector<rp::http::Header> headers, std::string reason = "") {
  Head h;
  h.status = status;
  h.reason = std::move(reason);
  h.headers = std::move(headers);
  return h;
}

const ClientInfo kClient{"192.0.2.7", 80, "http"};
const Pseudonym kSelf{"rp-1a2b3c4d"};

}  // namespace

// --- Requests -------------------------------------------------------------------------------

TEST_CASE("forwarding: hop-by-hop headers are dropped, the rest kept in order", "[forwarding]") {
  Head h = request(
      {
          {"Host", "Shop.Test:8080"},
          {"Connection", "keep-alive, X-Private, x-other-private"},
          {"Keep-Alive", "timeout=5"},
          {"Accept", "text/html"},
          {"Proxy-Connection", "keep-alive"},
          {"TE", "trailers"},
          {"Trailer", "X-Checksum"},
          {"X-Private", "secret"},
          {"Transfer-Encoding", "chunked"},
          {"Upgrade", "h2c"},
          {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
          {"Cookie", "a=1; b=2"},
          {"X-Other-Private", "x"},
          {"Content-Length", "999"},
          {"User-Agent", "test/1.0"},
          {"accept-language", "en"},
      },
      "GET", "/cart?id=1");
  const std::string out = upstream_request(h, kClient, kSelf);
  const Lines lines = lines_of(out);
  REQUIRE(!lines.empty());
  CHECK(lines[0] == "GET /cart?id=1 HTTP/1.1");
  const Lines expected = {
      "Host: Shop.Test:8080",    "Accept: text/html",
      "Cookie: a=1; b=2",        "User-Agent: test/1.0",
      "accept-language: en",     "X-Forwarded-For: 192.0.2.7",
      "X-Forwarded-Proto: http", "X-Forwarded-Host: Shop.Test:8080",
      "X-Forwarded-Port: 80",    "Via: 1.1 rp-1a2b3c4d",
  };
  CHECK(Lines(lines.begin() + 1, lines.end()) == expected);
}

TEST_CASE("forwarding: is_hop_by_hop", "[forwarding]") {
  Head h = request({{"Connection", "close, X-Drop"}});
  for (const char* name : {"Connection", "keep-alive", "PROXY-CONNECTION", "te", "Trailer",
                           "transfer-encoding", "Upgrade", "proxy-authorization",
                           "Proxy-Authenticate", "content-length", "x-drop", "X-DROP"}) {
    INFO(name);
    CHECK(is_hop_by_hop(h, name));
  }
  for (const char* name : {"Host", "Accept", "X-Forwarded-For", "Via", "Cookie", "X-Dro",
                           "trailers", "Authorization"}) {
    INFO(name);
    CHECK_FALSE(is_hop_by_hop(h, name));
  }
}

TEST_CASE("forwarding: X-Forwarded-For is appended to", "[forwarding]") {
  SECTION("one header") {
    Head h = request({{"Host", "a.test"}, {"X-Forwarded-For", "203.0.113.1, 198.51.100.2"}});
    Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(),
                     "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 192.0.2.7") == 1);
    CHECK(std::count_if(headers.begin(), headers.end(), [](const std::string& l) {
            return l.rfind("X-Forwarded-For:", 0) == 0;
          }) == 1);
  }
  SECTION("several headers keep every address, in order") {
    Head h = request({{"Host", "a.test"},
                      {"x-forwarded-for", "203.0.113.1"},
                      {"X-Forwarded-For", "198.51.100.2"}});
    Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(),
                     "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 192.0.2.7") == 1);
  }
  SECTION("none: set") {
    Head h = request({{"Host", "a.test"}});
    Lines headers = headers_of(upstream_request(h, ClientInfo{"::1", 8080, "http"}, kSelf));
    CHECK(std::count(headers.begin(), headers.end(), "X-Forwarded-For: ::1") == 1);
    CHECK(std::count(headers.begin(), headers.end(), "X-Forwarded-Port: 8080") == 1);
  }
}

TEST_CASE("forwarding: a client's X-Forwarded-Proto/Host/Port are replaced", "[forwarding]") {
  Head h = request({{"X-Forwarded-Proto", "https"},
                    {"Host", "shop.test"},
                    {"X-Forwarded-Host", "evil.example"},
                    {"x-forwarded-port", "443"}});
  const Lines headers =
      headers_of(upstream_request(h, ClientInfo{"127.0.0.1", 8080, "http"}, kSelf));
  const Lines expected = {
      "Host: shop.test",         "X-Forwarded-For: 127.0.0.1",
      "X-Forwarded-Proto: http", "X-Forwarded-Host: shop.test",
      "X-Forwarded-Port: 8080",  "Via: 1.1 rp-1a2b3c4d",
  };
  CHECK(headers == expected);

  // https as the client came in.
  const Lines tls = headers_of(upstream_request(h, ClientInfo{"127.0.0.1", 443, "https"}, kSelf));
  CHECK(std::count(tls.begin(), tls.end(), "X-Forwarded-Proto: https") == 1);
  CHECK(std::count(tls.begin(), tls.end(), "X-Forwarded-Port: 443") == 1);
}

TEST_CASE("forwarding: no Host, no X-Forwarded-Host", "[forwarding]") {
  Head h = request({{"Accept", "*/*"}});
  const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
  CHECK_FALSE(has_header_named(headers, "X-Forwarded-Host"));
  CHECK_FALSE(has_header_named(headers, "Host"));
}

TEST_CASE("forwarding: Via", "[forwarding]") {
  SECTION("added with the received version") {
    Head h = request({{"Host", "a.test"}});
    h.version_minor = 0;
    const std::string out = upstream_request(h, kClient, kSelf);
    CHECK(lines_of(out)[0] == "GET / HTTP/1.1");  // always 1.1 upstream
    const Lines headers = headers_of(out);
    CHECK(std::count(headers.begin(), headers.end(), "Via: 1.0 rp-1a2b3c4d") == 1);
  }
  SECTION("appended to an existing Via") {
    Head h = request({{"Via", "1.1 corp-proxy"}, {"Host", "a.test"}});
    const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(), "Via: 1.1 corp-proxy, 1.1 rp-1a2b3c4d") == 1);
    CHECK(std::count_if(headers.begin(), headers.end(),
                        [](const std::string& l) { return l.rfind("Via:", 0) == 0; }) == 1);
  }
  SECTION("several Via headers keep every hop, in order") {
    Head h = request({{"Via", "1.0 first"}, {"Host", "a.test"}, {"via", "1.1 second"}});
    const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(),
                     "Via: 1.0 first, 1.1 second, 1.1 rp-1a2b3c4d") == 1);
  }
}

TEST_CASE("forwarding: is_loop", "[forwarding]") {
  CHECK(is_loop(request({{"Via", "1.1 rp-1a2b3c4d"}}), kSelf));
  CHECK(is_loop(request({{"via", "1.0 corp, 1.1 rp-1a2b3c4d"}}), kSelf));
  CHECK(is_loop(request({{"Via", "1.0 corp"}, {"VIA", "1.1 rp-1a2b3c4d"}}), kSelf));
  CHECK_FALSE(is_loop(request({{"Via", "1.1 rp-99999999"}}), kSelf));
  CHECK_FALSE(is_loop(request({{"Host", "a.test"}}), kSelf));
  CHECK_FALSE(is_loop(request({{"X-Via", "1.1 rp-1a2b3c4d"}}), kSelf));

  // What upstream_request sends is recognised when it comes back.
  Parser p(Parser::Kind::request);
  const std::string sent = upstream_request(request({{"Host", "a.test"}}), kClient, kSelf);
  REQUIRE(p.feed(sent).status == Parser::Status::head_done);
  CHECK(is_loop(p.head(), kSelf));
  CHECK_FALSE(is_loop(p.head(), Pseudonym{"rp-00000000"}));
}

TEST_CASE("forwarding: request body framing", "[forwarding]") {
  SECTION("chunked") {
    Head h = request({{"Host", "a.test"}, {"Transfer-Encoding", "gzip, chunked"}}, "POST");
    h.chunked = true;
    const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(), "Transfer-Encoding: chunked") == 1);
    CHECK_FALSE(has_header_named(headers, "Content-Length"));
    CHECK(std::count_if(headers.begin(), headers.end(), [](const std::string& l) {
            return l.rfind("Transfer-Encoding:", 0) == 0;
          }) == 1);
  }
  SECTION("content length") {
    Head h = request({{"Host", "a.test"}, {"Content-Length", "42"}}, "POST");
    h.content_length = 42;
    const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(), "Content-Length: 42") == 1);
    CHECK_FALSE(has_header_named(headers, "Transfer-Encoding"));
  }
  SECTION("zero length") {
    Head h = request({{"Host", "a.test"}, {"Content-Length", "0"}}, "POST");
    h.content_length = 0;
    const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK(std::count(headers.begin(), headers.end(), "Content-Length: 0") == 1);
  }
  SECTION("no body") {
    Head h = request({{"Host", "a.test"}});
    const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
    CHECK_FALSE(has_header_named(headers, "Content-Length"));
    CHECK_FALSE(has_header_named(headers, "Transfer-Encoding"));
    CHECK_FALSE(has_header_named(headers, "Connection"));
  }
}

TEST_CASE("forwarding: an upgrade request keeps Upgrade", "[forwarding]") {
  Head h = request({{"Host", "a.test"},
                    {"Connection", "keep-alive, Upgrade"},
                    {"Upgrade", "websocket"},
                    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                    {"Sec-WebSocket-Version", "13"}},
                   "GET", "/cable");
  h.upgrade = true;
  const Lines headers = headers_of(upstream_request(h, kClient, kSelf));
  CHECK(std::count(headers.begin(), headers.end(), "Upgrade: websocket") == 1);
  CHECK(std::count(headers.begin(), headers.end(), "Connection: Upgrade") == 1);
  CHECK(std::count_if(headers.begin(), headers.end(), [](const std::string& l) {
          return l.rfind("Connection:", 0) == 0 || l.rfind("Upgrade:", 0) == 0;
        }) == 2);
  CHECK(std::count(headers.begin(), headers.end(), "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==") ==
        1);
  CHECK(std::count(headers.begin(), headers.end(), "Sec-WebSocket-Version: 13") == 1);

  // Without the flag, an Upgrade header is dropped like any hop-by-hop header.
  h.upgrade = false;
  const Lines plain = headers_of(upstream_request(h, kClient, kSelf));
  CHECK_FALSE(has_header_named(plain, "Upgrade"));
  CHECK_FALSE(has_header_named(plain, "Connection"));
}

TEST_CASE("forwarding: the upstream request parses back to the same request", "[forwarding]") {
  Parser in(Parser::Kind::request);
  const std::string original =
      "POST /submit HTTP/1.0\r\nHost: shop.test\r\nConnection: keep-alive\r\n"
      "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
  REQUIRE(in.feed(original).status == Parser::Status::head_done);
  const std::string sent = upstream_request(in.head(), kClient, kSelf);
  Parser out(Parser::Kind::request);
  REQUIRE(out.feed(sent).status == Parser::Status::head_done);
  const Head& h = out.head();
  CHECK(h.method == "POST");
  CHECK(h.target == "/submit");
  CHECK(h.version_minor == 1);
  CHECK(h.keep_alive);
  REQUIRE(h.content_length.has_value());
  CHECK(*h.content_length == 5);
  CHECK(*h.find("host") == "shop.test");
  CHECK(*h.find("content-type") == "text/plain");
  CHECK(h.find("connection") == nullptr);
}

// --- Responses ------------------------------------------------------------------------------

TEST_CASE("forwarding: response_framing", "[forwarding]") {
  Head with_length = response(200, {});
  with_length.content_length = 10;
  Head without_length = response(200, {});

  CHECK(response_framing(with_length, true, true) == Framing::none);  // HEAD
  CHECK(response_framing(without_length, true, false) == Framing::none);
  CHECK(response_framing(response(100, {}), false, true) == Framing::none);
  CHECK(response_framing(response(101, {}), false, true) == Framing::none);
  CHECK(response_framing(response(103, {}), false, true) == Framing::none);
  CHECK(response_framing(response(204, {}), false, true) == Framing::none);
  Head not_modified = response(304, {});
  not_modified.content_length = 10;
  CHECK(response_framing(not_modified, false, true) == Framing::none);

  CHECK(response_framing(with_length, false, true) == Framing::length);
  CHECK(response_framing(with_length, false, false) == Framing::length);
  CHECK(response_framing(without_length, false, true) == Framing::chunked);
  CHECK(response_framing(without_length, false, false) == Framing::until_close);

  Head chunked = response(500, {{"Transfer-Encoding", "chunked"}});
  chunked.chunked = true;
  CHECK(response_framing(chunked, false, true) == Framing::chunked);
  CHECK(response_framing(chunked, false, false) == Framing::until_close);
}

TEST_CASE("forwarding: client_response with a length", "[forwarding]") {
  Head h = response(200,
                    {{"Content-Type", "text/html"},
                     {"Connection", "keep-alive, X-Hop"},
                     {"Keep-Alive", "timeout=5"},
                     {"Content-Length", "10"},
                     {"X-Hop", "1"},
                     {"Set-Cookie", "a=1"},
                     {"Set-Cookie", "b=2"},
                     {"Proxy-Authenticate", "Basic"},
                     {"Trailer", "X"},
                     {"Upgrade", "h2"}},
                    "Fine");
  h.content_length = 10;
  const Lines lines = lines_of(client_response(h, Framing::length, true));
  const Lines expected = {
      "HTTP/1.1 200 Fine", "Content-Type: text/html", "Set-Cookie: a=1",
      "Set-Cookie: b=2",   "Content-Length: 10",
  };
  CHECK(lines == expected);
}

TEST_CASE("forwarding: client_response re-frames the body", "[forwarding]") {
  Head h = response(200, {{"Transfer-Encoding", "chunked"}, {"Content-Type", "text/plain"}});
  h.chunked = true;
  SECTION("chunked") {
    const Lines lines = lines_of(client_response(h, Framing::chunked, true));
    CHECK(lines ==
          Lines{"HTTP/1.1 200 OK", "Content-Type: text/plain", "Transfer-Encoding: chunked"});
  }
  SECTION("chunked, not keep-alive") {
    const Lines lines = lines_of(client_response(h, Framing::chunked, false));
    CHECK(lines == Lines{"HTTP/1.1 200 OK", "Content-Type: text/plain",
                         "Transfer-Encoding: chunked", "Connection: close"});
  }
  SECTION("until close") {
    const Lines lines = lines_of(client_response(h, Framing::until_close, true));
    CHECK(lines == Lines{"HTTP/1.1 200 OK", "Content-Type: text/plain", "Connection: close"});
  }
  SECTION("length, not keep-alive") {
    Head l = response(404, {{"Content-Length", "3"}, {"Connection", "keep-alive"}}, "Nope");
    l.content_length = 3;
    const Lines lines = lines_of(client_response(l, Framing::length, false));
    CHECK(lines == Lines{"HTTP/1.1 404 Nope", "Content-Length: 3", "Connection: close"});
  }
  SECTION("an upstream HTTP/1.0 response goes out as 1.1") {
    Head old = response(200, {{"Content-Length", "1"}});
    old.version_minor = 0;
    old.content_length = 1;
    const Lines lines = lines_of(client_response(old, Framing::length, true));
    CHECK(lines[0] == "HTTP/1.1 200 OK");
  }
  SECTION("an HTTP/1.0 client that keeps the connection is told so; one that closes is not") {
    Head h = response(200, {{"Content-Length", "1"}});
    h.content_length = 1;
    CHECK(lines_of(client_response(h, Framing::length, true, true)) ==
          Lines{"HTTP/1.1 200 OK", "Content-Length: 1", "Connection: keep-alive"});
    CHECK(lines_of(client_response(h, Framing::length, false, true)) ==
          Lines{"HTTP/1.1 200 OK", "Content-Length: 1", "Connection: close"});
  }
}

TEST_CASE("forwarding: client_response for 101", "[forwarding]") {
  Head h = response(101,
                    {{"Upgrade", "websocket"},
                     {"Connection", "Upgrade"},
                     {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
                    "Switching Protocols");
  h.upgrade = true;
  for (bool keep_alive : {true, false}) {
    INFO("keep_alive " << keep_alive);
    const Lines lines = lines_of(client_response(h, Framing::none, keep_alive));
    CHECK(lines == Lines{"HTTP/1.1 101 Switching Protocols",
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Upgrade: websocket",
                         "Connection: Upgrade"});
  }
}

TEST_CASE("forwarding: client_response for HEAD, 304 and 204", "[forwarding]") {
  SECTION("HEAD keeps the app's Content-Length") {
    Head h = response(200, {{"Content-Length", "1234"}, {"ETag", "\"v1\""}});
    h.content_length = 1234;
    const Lines lines = lines_of(client_response(h, Framing::none, true));
    CHECK(lines == Lines{"HTTP/1.1 200 OK", "ETag: \"v1\"", "Content-Length: 1234"});
  }
  SECTION("HEAD of a chunked answer has no framing header") {
    Head h = response(200, {{"Transfer-Encoding", "chunked"}});
    h.chunked = true;
    const Lines lines = lines_of(client_response(h, Framing::none, true));
    CHECK(lines == Lines{"HTTP/1.1 200 OK"});
  }
  SECTION("304 keeps the app's Content-Length") {
    Head h = response(304, {{"ETag", "\"v1\""}, {"Content-Length", "99"}});
    h.content_length = 99;
    const Lines lines = lines_of(client_response(h, Framing::none, true));
    CHECK(lines == Lines{"HTTP/1.1 304 Not Modified", "ETag: \"v1\"", "Content-Length: 99"});
  }
  SECTION("204 never has a Content-Length") {
    Head h = response(204, {{"Content-Length", "0"}, {"X-A", "1"}});
    h.content_length = 0;
    const Lines lines = lines_of(client_response(h, Framing::none, false));
    CHECK(lines == Lines{"HTTP/1.1 204 No Content", "X-A: 1", "Connection: close"});
  }
}

TEST_CASE("forwarding: client_response for an interim response", "[forwarding]") {
  Head h = response(103, {{"Link", "</style.css>; rel=preload"}, {"Connection", "keep-alive"}},
                    "Early Hints");
  const Lines lines = lines_of(client_response(h, Framing::none, false));
  // No framing and no Connection: close on an interim answer; the final one says that.
  CHECK(lines == Lines{"HTTP/1.1 103 Early Hints", "Link: </style.css>; rel=preload"});
  CHECK(lines_of(client_response(response(100, {}), Framing::none, true)) ==
        Lines{"HTTP/1.1 100 Continue"});
}

TEST_CASE("forwarding: an empty reason gets the standard phrase", "[forwarding]") {
  Head h = response(404, {{"Content-Length", "0"}});
  h.content_length = 0;
  CHECK(lines_of(client_response(h, Framing::length, true))[0] == "HTTP/1.1 404 Not Found");
  Head odd = response(299, {});
  CHECK(lines_of(client_response(odd, Framing::chunked, true))[0] == "HTTP/1.1 299 Status");
  CHECK(reason_phrase(502) == "Bad Gateway");
  CHECK(reason_phrase(504) == "Gateway Timeout");
  CHECK(reason_phrase(508) == "Loop Detected");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(200) == "OK");
}

TEST_CASE("forwarding: a client response parses as what was meant", "[forwarding]") {
  // Upstream: HTTP/1.0 with no length. Client: HTTP/1.1, so rp sends it chunked.
  Parser up(Parser::Kind::response);
  REQUIRE(up.feed("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhi").status ==
          Parser::Status::need_more);
  const Framing framing = response_framing(up.head(), false, true);
  REQUIRE(framing == Framing::chunked);
  const std::string head = client_response(up.head(), framing, true);
  Parser client(Parser::Kind::response);
  const std::string wire = head + "2\r\nhi\r\n0\r\n\r\n";
  auto step = client.feed(wire);
  INFO(client.error());
  REQUIRE(step.status == Parser::Status::message_done);
  CHECK(step.consumed == wire.size());
  CHECK(client.head().chunked);
  CHECK(client.head().keep_alive);
}

// --- rp's own responses ---------------------------------------------------------------------

TEST_CASE("forwarding: simple_response", "[forwarding]") {
  const std::string body = "rp: nothing here\n";
  const std::string full =
      simple_response(404, "Not Found", "text/plain; charset=utf-8", body, true);
  const auto end = full.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  const std::string head = full.substr(0, end + 4);
  CHECK(full.substr(end + 4) == body);
  const Lines lines = lines_of(head);
  CHECK(lines[0] == "HTTP/1.1 404 Not Found");
  CHECK(std::count(lines.begin(), lines.end(), "Content-Type: text/plain; charset=utf-8") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "Content-Length: " + std::to_string(body.size())) ==
        1);
  CHECK_FALSE(has_header_named(lines, "Connection"));

  const std::string closing =
      simple_response(502, "Bad Gateway", "text/html; charset=utf-8", "<p>x</p>", false);
  const Lines closing_lines = lines_of(closing.substr(0, closing.find("\r\n\r\n") + 4));
  CHECK(std::count(closing_lines.begin(), closing_lines.end(), "Connection: close") == 1);
  CHECK(closing.substr(closing.find("\r\n\r\n") + 4) == "<p>x</p>");

  // It parses, with its body, as one complete message.
  Parser p(Parser::Kind::response);
  auto step = p.feed(full);
  REQUIRE(step.status == Parser::Status::message_done);
  CHECK(step.consumed == full.size());
}

TEST_CASE("forwarding: simple_response to HEAD has no body but its length", "[forwarding]") {
  const std::string body = "0123456789";
  const std::string out = simple_response(404, "Not Found", "text/plain", body, true, true);
  REQUIRE(out.size() >= 4);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
  const Lines lines = lines_of(out);
  CHECK(std::count(lines.begin(), lines.end(), "Content-Length: 10") == 1);
  CHECK(out.find("0123456789") == std::string::npos);
}
